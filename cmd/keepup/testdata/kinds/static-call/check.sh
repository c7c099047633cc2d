#!/bin/sh
# Prints /proc/loadavg and passes once its thread count has the 100000 the
# patch adds. The patched loadavg_proc_show also calls cond_resched(),
# which this kernel (PREEMPT_DYNAMIC) reaches through the static call
# cond_resched, so the module carries a static call site.
cat /proc/loadavg
threads=$(cut -d' ' -f4 /proc/loadavg | cut -d/ -f2)
[ "$threads" -ge 100000 ]
