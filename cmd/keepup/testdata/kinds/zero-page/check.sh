#!/bin/sh
# Passes once /proc/cmdline ends with three page frame numbers of the
# zero page that agree: the one the patch computes with ZERO_PAGE(0), the
# zero_pfn the kernel computed at boot, and the one from
# __pa_symbol(empty_zero_page). The patched code reaches empty_zero_page
# through a 32-bit relocation next to the constant that turns a kernel
# text address into a physical one, so a wrong relocation shows as a
# frame number that differs from the boot-time one.
line=$(cat /proc/cmdline)
echo "$line"
zero=${line##* zero_page_pfn=}
zero=${zero%% *}
boot=${line##* zero_pfn=}
boot=${boot%% *}
sym=${line##* pa_symbol=}
case "$line" in
*' zero_page_pfn=0x'*' zero_pfn=0x'*' pa_symbol=0x'*) ;;
*) exit 1 ;;
esac
echo "zero page: $zero, boot: $boot, symbol: $sym"
[ "$zero" = "$boot" ] && [ "$sym" = "$boot" ]
