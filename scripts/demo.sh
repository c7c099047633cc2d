#!/usr/bin/env bash
# Runs keepup's main job on the built-in example: builds a live patch that
# changes /proc/cmdline for Debian 12's kernel, boots that kernel under
# QEMU, applies the patch live and reverts it, showing /proc/cmdline before
# and after and that the kernel kept running (same boot id, uptime still
# counting). KEEPUP_KERNEL picks another kernel release.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
kernel="${KEEPUP_KERNEL:-6.1.0-57-amd64}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -o "$out/keepup" ./cmd/keepup
(cd "$out" && ./keepup build --kernel "$kernel" "$OLDPWD/examples/cmdline/cmdline.patch")
"$out/keepup" vmtest --kernel "$kernel" "$out/livepatch-cmdline.ko" --check examples/cmdline/check.sh
