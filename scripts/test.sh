#!/usr/bin/env bash
# Runs all of keepup's tests, including those that download Debian's
# kernel packages, build live patches for that kernel and boot it under
# QEMU. KEEPUP_TEST_KERNEL picks the kernel (default 6.1.0-57-amd64) and
# KEEPUP_CACHE_DIR the download cache (default ~/.cache/keepup).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_deps
export KEEPUP_TEST_KERNEL="${KEEPUP_TEST_KERNEL:-6.1.0-57-amd64}"
go vet ./...
go test -timeout 80m ./...
