#!/bin/sh
# Passes once the uname system call reports the node name the patch sets.
[ "$(uname -n)" = keepup-patched ]
