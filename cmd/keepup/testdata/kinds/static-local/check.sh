#!/bin/sh
# Writes 4 to drop_caches, which sets the handler's static quiet flag, and
# passes once the write fails. The patched handler rejects the write when
# the flag is already set. The unpatched check-before run set the flag in
# the running kernel, so the first write after the patch fails only if the
# patch reads that copy of the flag and not a fresh one.
if echo 4 > /proc/sys/vm/drop_caches; then
	echo "write accepted"
	exit 1
fi
echo "write rejected"
