#!/bin/sh
# Rebuilds the fixture objects from their C sources with kernel-like code
# generation: a section per function and variable, ftrace hooks
# (__fentry__ and __mcount_loc) and the kernel code model. Each source is
# compiled as "fixture.c", so that __FILE__ is the same in both builds of
# a pair.
set -e
cd "$(dirname "$0")"
dir=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for src in *.c; do
	cp "$src" "$tmp/fixture.c"
	(cd "$tmp" && gcc -O2 -c -ffunction-sections -fdata-sections -fno-pic \
		-mcmodel=kernel -pg -mfentry -mrecord-mcount \
		-fno-asynchronous-unwind-tables -fno-stack-protector -fno-ident \
		-I"$dir" -o "$dir/${src%.c}.o" fixture.c)
done
