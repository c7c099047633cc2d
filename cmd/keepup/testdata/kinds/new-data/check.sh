#!/bin/sh
# Reads /proc/cmdline twice and passes once it starts with the patch's two
# new counters, first at 1 and 1000, then at 2 and 1001. The read count
# is a zero-initialized static (.bss) and the serial an initialized one
# (.data), so the values prove that the module brought fresh copies with
# their initial values.
first=$(cat /proc/cmdline)
second=$(cat /proc/cmdline)
echo "$first"
echo "$second"
case "$first" in
'keepup-reads=1 keepup-serial=1000 '*) ;;
*) exit 1 ;;
esac
case "$second" in
'keepup-reads=2 keepup-serial=1001 '*) ;;
*) exit 1 ;;
esac
