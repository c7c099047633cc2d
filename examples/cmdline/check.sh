#!/bin/sh
# Prints /proc/cmdline and passes once it starts with the text the patch adds.
cat /proc/cmdline
grep -q '^keepup: live patched ' /proc/cmdline
