#!/bin/sh
# Sets vm.vfs_cache_pressure to 123, reads /proc/sys/fs/dentry-state and
# passes once its dentry count has 123000000 added: the patch's new
# __read_mostly bias (1000000) times the running kernel's existing
# __read_mostly sysctl_vfs_cache_pressure. A module that used its own copy
# of the pressure, still at the initial 100, would add 100000000. The
# check puts the default pressure of 100 back.
echo 123 > /proc/sys/vm/vfs_cache_pressure
dentries=$(cut -f1 /proc/sys/fs/dentry-state)
echo 100 > /proc/sys/vm/vfs_cache_pressure
echo "dentries: $dentries"
[ "$dentries" -ge 123000000 ] && [ "$dentries" -lt 124000000 ]
