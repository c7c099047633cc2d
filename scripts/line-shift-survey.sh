#!/usr/bin/env bash
# Builds, for each kernel source file, a patch that only inserts a comment
# line after the file's first line, and prints the verdict of keepup build.
# Such a patch moves every later line of the file, so every verdict must
# be no-change (exit 3). Any other verdict is a line-number difference
# that the differ takes for a change. Exits 1 when any file gets another
# verdict.
# Usage: bash scripts/line-shift-survey.sh [RELEASE [FILE...]]
#   RELEASE defaults to 6.1.0-57-amd64; FILE paths are relative to the
#   kernel source tree and default to a list of large built-in files.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel="${1:-6.1.0-57-amd64}"
shift || true
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	files=(
		kernel/fork.c kernel/exit.c kernel/signal.c kernel/sys.c
		kernel/workqueue.c kernel/sched/core.c kernel/time/timer.c
		mm/mmap.c mm/memory.c mm/page_alloc.c mm/slub.c mm/vmscan.c
		fs/namei.c fs/dcache.c fs/inode.c fs/exec.c fs/file.c fs/pipe.c
		fs/proc/base.c net/core/dev.c net/core/skbuff.c net/ipv4/tcp.c
		net/ipv4/tcp_input.c net/ipv4/route.c net/ipv4/devinet.c
		net/core/rtnetlink.c net/ipv4/fib_frontend.c block/blk-core.c
		drivers/base/core.c
	)
fi
cache="${KEEPUP_CACHE_DIR:-$HOME/.cache/keepup}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/keepup" ./cmd/keepup
keepup="$work/keepup"
"$keepup" kernel prepare --cache-dir "$cache" "$kernel" >/dev/null
source_dir="$cache/kernels/$kernel/source"

# shift_patch prints a diff that inserts a comment after line 1 of $1.
shift_patch() {
	local path=$1 first
	first=$(head -n 1 "$source_dir/$path")
	printf -- '--- a/%s\n+++ b/%s\n@@ -1,1 +1,2 @@\n %s\n+/* A comment that moves every later line. */\n' \
		"$path" "$path" "$first"
}

failed=0
for path in "${files[@]}"; do
	if [ ! -f "$source_dir/$path" ]; then
		echo "$path: not found in $source_dir" >&2
		failed=1
		continue
	fi
	shift_patch "$path" >"$work/shift.patch"
	start=$(date +%s%N)
	status=0
	(cd "$work" && "$keepup" build --kernel "$kernel" --cache-dir "$cache" shift.patch \
		>"$work/report" 2>"$work/log") || status=$?
	took=$(( ($(date +%s%N) - start) / 1000000 ))
	seconds=$(awk -v ms="$took" 'BEGIN { printf "%.1f", ms / 1000 }')
	if [ "$status" -eq 3 ]; then
		ignored=$(grep -c ': ignored: .*only line numbers' "$work/report" || true)
		echo "$path: no-change, $ignored functions differ only in moved line numbers ($seconds s)"
		continue
	fi
	failed=1
	echo "$path: exit $status ($seconds s)"
	sed 's/^/  /' "$work/report"
	[ "$status" -eq 1 ] && tail -n 5 "$work/log" | sed 's/^/  /'
	rm -f "$work"/*.ko
done
exit "$failed"
