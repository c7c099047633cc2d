#!/usr/bin/env bash
# Measures keepup's speed targets on this machine and prints one line per
# figure: the first build for a kernel (downloads excluded), a second
# build of the same example, one VM check, and a sample of single-file
# compiles from which a whole-kernel build's cost is estimated.
# Usage: bash scripts/bench.sh [RELEASE]   (default 6.1.0-57-amd64)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
kernel="${1:-6.1.0-57-amd64}"
cache="${KEEPUP_CACHE_DIR:-$HOME/.cache/keepup}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/keepup" ./cmd/keepup
keepup="$work/keepup"
patch="$PWD/examples/cmdline/cmdline.patch"

seconds() { local start=$1; echo "$(( ($(date +%s%N) - start) / 1000000 ))" | awk '{printf "%.1f", $1 / 1000}'; }

# Download once into the shared cache, then copy the packages into a fresh
# cache so that the first build below measures no download.
"$keepup" kernel prepare --cache-dir "$cache" "$kernel" >/dev/null
fresh="$work/cache"
mkdir -p "$fresh"
cp -r "$cache/debs" "$fresh/debs"

start=$(date +%s%N)
(cd "$work" && "$keepup" build --kernel "$kernel" --cache-dir "$fresh" "$patch" >/dev/null 2>"$work/first.log")
echo "first build, downloads excluded: $(seconds "$start") s"

start=$(date +%s%N)
(cd "$work" && "$keepup" build --kernel "$kernel" --cache-dir "$fresh" "$patch" >/dev/null 2>"$work/second.log")
echo "second build of examples/cmdline: $(seconds "$start") s"

start=$(date +%s%N)
"$keepup" vmtest --kernel "$kernel" --cache-dir "$fresh" --accel tcg "$work/livepatch-cmdline.ko" \
	--check examples/cmdline/check.sh >/dev/null 2>&1
echo "one VM check (tcg, boot to power off): $(seconds "$start") s"

# A whole-kernel build compiles every C file of the configuration; time a
# sample of files in one make run with one job, in a scratch copy of the
# prepared tree.
tree="$(readlink -f "$fresh/kernels/$kernel")"
cp -a "$tree/build" "$work/build"
mapfile -t sample < <(cd "$tree/source" && ls kernel/*.c mm/*.c fs/*.c | awk 'NR % 7 == 0' | head -n 20)
objects=()
for c in "${sample[@]}"; do objects+=("${c%.c}.o"); done
start=$(date +%s%N)
make -s -j1 -k -C "$tree/source" O="$work/build" CC=gcc-12 KERNELRELEASE="$kernel" KCFLAGS="-ffunction-sections -fdata-sections" "${objects[@]}" >/dev/null 2>&1 || true
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
built=0
for o in "${objects[@]}"; do [ -f "$work/build/$o" ] && built=$((built + 1)); done
per_file=$(awk -v ms="$elapsed_ms" -v n="$built" 'BEGIN { printf "%.2f", ms / 1000 / n }')
echo "single-file compile, mean of $built files: $per_file s"
awk -v s="$per_file" 'BEGIN { printf "whole-kernel build estimate, 13600 C files on 2 cores: %.0f min\n", s * 13600 / 2 / 60 }'
