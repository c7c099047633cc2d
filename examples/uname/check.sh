#!/bin/sh
# Prints the node name the uname system call returns and passes once it is
# the one the patch sets.
uname -n
[ "$(uname -n)" = keepup-patched ]
