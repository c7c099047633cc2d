#!/bin/sh
# Prints the dentry count of /proc/sys/fs/dentry-state and passes once it
# has the 1000000 that the patch's new __read_mostly variable adds.
dentries=$(cut -f1 /proc/sys/fs/dentry-state)
echo "dentries: $dentries"
[ "$dentries" -ge 1000000 ] && [ "$dentries" -lt 2000000 ]
