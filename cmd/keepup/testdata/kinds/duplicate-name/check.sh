#!/bin/sh
# Opens a file on descriptor 3 at position 0 and passes once
# /proc/PID/fdinfo/3 reports the position with the patch's 1000000 added.
# vmlinux has two static functions named seq_show, so the patch must
# name the one of fs/proc/fd.c by its position.
exec 3< /proc/version
pos=$(grep '^pos:' /proc/$$/fdinfo/3)
exec 3<&-
echo "$pos"
[ "$pos" = "$(printf 'pos:\t1000000')" ]
