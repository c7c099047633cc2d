#!/bin/sh
# Writes 1 to drop_caches and passes once the kernel's message about it
# ends in "(keepup)", as the patched format does. GCC moves that pr_info
# into drop_caches_sysctl_handler.cold, so the patch changes only the
# cold part of the function.
echo 1 > /proc/sys/vm/drop_caches
message=$(dmesg | grep 'drop_caches: 1' | tail -n 1)
echo "$message"
case "$message" in
*'drop_caches: 1 (keepup)') ;;
*) exit 1 ;;
esac
