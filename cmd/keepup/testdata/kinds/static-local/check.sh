#!/bin/sh
# Writes 4 to drop_caches, which sets the handler's static quiet flag, and
# passes once the write fails. The patched handler rejects the write when
# the flag is already set, so the check passes on its first write after
# the patch only if the patch reads the flag the earlier, unpatched check
# set in the running kernel, not a fresh copy of it.
if echo 4 > /proc/sys/vm/drop_caches; then
	echo "write accepted"
	exit 1
fi
echo "write rejected"
