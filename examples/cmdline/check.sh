#!/bin/sh
# Passes once /proc/cmdline carries the text the patch adds.
grep -q '^keepup: live patched ' /proc/cmdline
