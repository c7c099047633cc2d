#!/bin/sh
# Prints the end of /proc/filesystems and passes once it has the line the
# patch adds after looking up "proc" with the file's own static lookup
# function, which walks the file's static list.
tail -n 2 /proc/filesystems
grep -q 'keepup-found-proc' /proc/filesystems
