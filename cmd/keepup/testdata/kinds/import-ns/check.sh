#!/bin/sh
# Passes once /proc/cmdline ends with the result of the patch's call to
# dma_buf_get(-1), which is -EBADF (-9). dma_buf_get is exported in the
# DMA_BUF symbol namespace. The kernel rejects a module that uses such a
# symbol without importing its namespace, so the module loads only
# because keepup added the import.
line=$(cat /proc/cmdline)
echo "$line"
case "$line" in
*' dma_buf_get(-1)=-9') ;;
*) exit 1 ;;
esac
