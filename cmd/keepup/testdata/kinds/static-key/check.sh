#!/bin/sh
# Passes once /sys/kernel/mm/lru_gen/enabled shows the 0x0100 the patch
# adds while the LRU_GEN_CORE static key is off, and drops it after the
# key is switched on. The second read proves that the running kernel
# updated the jump label site in the patched show_enabled when the key
# changed. The check leaves the key off, as the kernel boots with it.
f=/sys/kernel/mm/lru_gen/enabled
off=$(cat $f)
echo y > $f
on=$(cat $f)
echo n > $f
echo "off: $off, on: $on"
[ "$off" = 0x0100 ] && [ "$on" = 0x0007 ]
