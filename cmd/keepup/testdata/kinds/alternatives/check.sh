#!/bin/sh
# Reads /proc/uptime twice and passes once its idle field is the patch's
# read count: at least 1000000, and one more on the second read. The
# patched uptime_proc_show counts with atomic_inc_return (a LOCK prefix in
# .smp_locks) between local_irq_save and local_irq_restore (paravirt
# sites) and picks the base with static_cpu_has (alternatives).
first=$(cut -d' ' -f2 /proc/uptime)
second=$(cut -d' ' -f2 /proc/uptime)
echo "idle: $first, then $second"
first=${first%.00}
second=${second%.00}
case "$first$second" in
*.*) exit 1 ;;
esac
[ "$first" -ge 1000000 ] && [ "$second" -eq $((first + 1)) ]
