#!/bin/sh
# Passes once /proc/filesystems has the line the patch adds after looking
# up "proc" with the file's own static lookup function and list.
grep -q 'keepup-found-proc' /proc/filesystems
