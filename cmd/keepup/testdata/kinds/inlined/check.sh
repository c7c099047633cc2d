#!/bin/sh
# Prints the MemTotal line of /proc/meminfo and passes once it ends in
# KiB, the unit the patched show_val_kb writes. GCC inlines show_val_kb
# into meminfo_proc_show, so the live patch replaces meminfo_proc_show.
grep '^MemTotal:' /proc/meminfo
grep -q '^MemTotal: *[0-9][0-9]* KiB$' /proc/meminfo
