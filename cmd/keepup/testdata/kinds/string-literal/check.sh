#!/bin/sh
# Prints the proc line of /proc/filesystems and passes once file systems
# without a device are flagged keepup-nodev, the literal the patch puts in
# place of "nodev".
grep -w proc /proc/filesystems
grep -qx "$(printf 'keepup-nodev\tproc')" /proc/filesystems
