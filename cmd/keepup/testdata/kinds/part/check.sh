#!/bin/sh
# Prints the first Swap line of a process's /proc/PID/smaps and passes
# once it shows the 1 GiB (1048576 kB) the patch adds to each mapping's
# swap. GCC splits the body of smap_gather_stats, after its first check,
# into smap_gather_stats.part.0, which is all the patch changes.
line=$(grep -m 1 '^Swap:' /proc/self/smaps)
echo "$line"
set -- $line
[ "$2" -ge 1048576 ]
