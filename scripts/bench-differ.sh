#!/usr/bin/env bash
# Measures the object differ's wall time, CPU time and peak memory
# (maximum resident set size) on two sets of object pairs: the peer
# corpus, and pairs of large objects of a Debian 6.1 kernel that keepup
# builds here from small patches. When given an already-built
# create-diff-object from kpatch, it measures that on the same pairs and
# prints both tools' decisions side by side.
#
# Usage: bash scripts/bench-differ.sh [CREATE_DIFF_OBJECT]
#
# Environment:
#   CREATE_DIFF_OBJECT   path of kpatch's create-diff-object, used when no
#                        argument is given. Without either, its column is
#                        skipped.
#   KEEPUP_PEER_OBJS     the corpus (default ../shared/peer-objs/x86_64)
#   KEEPUP_BENCH_KERNEL  the kernel release (default 6.1.0-57-amd64). The
#                        6.1 pairs are skipped unless it is prepared in the
#                        cache (keepup kernel prepare RELEASE).
#   KEEPUP_CACHE_DIR     the cache (default ~/.cache/keepup)
#   KEEPUP_BENCH_PAIRS   a folder of prebuilt 6.1 pairs NAME.ORIG.o and
#                        NAME.PATCHED.o to measure instead of building them
#   KEEPUP_BENCH_KEEP    a folder to copy the built 6.1 pairs into
#   BENCH_RUNS           timed runs per tool and set; the best is reported
#                        (default 5)
#
# Each run invokes the tool once per pair, one process at a time. Peak RSS
# is the maximum over all invocations, from a separate pass under GNU time
# (`/usr/bin/time -v`, Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."

cdo="${1:-${CREATE_DIFF_OBJECT:-}}"
corpus="${KEEPUP_PEER_OBJS:-../shared/peer-objs/x86_64}"
kernel="${KEEPUP_BENCH_KERNEL:-6.1.0-57-amd64}"
cache="${KEEPUP_CACHE_DIR:-$HOME/.cache/keepup}"
runs="${BENCH_RUNS:-5}"

if [ ! -x /usr/bin/time ]; then
	echo "GNU time is missing. Install it: apt-get install time" >&2
	exit 1
fi
if [ -n "$cdo" ] && [ ! -x "$cdo" ]; then
	echo "create-diff-object $cdo is not an executable file" >&2
	exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/keepup" ./cmd/keepup
keepup="$work/keepup"

# kpatch's create-diff-object reads each entry size from its own
# environment variable.
declare -A size_vars=(
	[__bug_table]=BUG_STRUCT_SIZE [__ex_table]=EX_STRUCT_SIZE
	[.altinstructions]=ALT_STRUCT_SIZE [__jump_table]=JUMP_STRUCT_SIZE
	[.orc_unwind]=ORC_STRUCT_SIZE [.static_call_sites]=STATIC_CALL_STRUCT_SIZE
	[.printk_index]=PRINTK_INDEX_STRUCT_SIZE [.parainstructions]=PARA_STRUCT_SIZE
)

# A pair list has one line per pair, tab-separated: name, original object,
# patched object, keepup's entry sizes and create-diff-object's, each a
# space-separated list of SECTION=BYTES, then the parent symbol table and
# Module.symvers that create-diff-object reads.

# The corpus's entry sizes, as keepup's corpus test passes them: the
# older kernels' sizes, JUMP_STRUCT_SIZE from expected.tsv, and three
# pairs whose relocations show 12-byte .altinstructions and 16-byte
# __jump_table entries. create-diff-object gets the sizes kpatch's unit
# test harness passed.
corpus_sizes="__bug_table=12 __ex_table=12 .altinstructions=13 __jump_table=24 .orc_unwind=6 .static_call_sites=8 .printk_index=44 .parainstructions=16"
declare -A corpus_overrides=(
	[ASSERT_RTNL-detect]=".altinstructions=12 __jump_table=16"
	[printk-index-1-issue-1206]=".altinstructions=12 __jump_table=16"
	[clang-lstr]="__jump_table=16"
)

# Merges SECTION=BYTES lists. A later entry for a section replaces an
# earlier one.
merge_sizes() {
	local -A merged=()
	local kv
	for kv in $*; do merged[${kv%%=*}]=${kv#*=}; done
	for kv in "${!merged[@]}"; do printf '%s=%s ' "$kv" "${merged[$kv]}"; done
}

# Lists the corpus's pairs and writes each original object's symbol table,
# which create-diff-object reads as the parent's, as kpatch's unit tests
# do.
list_corpus() {
	local line name patched env jump
	while IFS= read -r line; do
		name="$(cut -f1 <<<"$line")"
		patched="$(cut -f2 <<<"$line")"
		env="$(cut -f5 <<<"$line")"
		jump=""
		if [[ "$env" =~ JUMP_STRUCT_SIZE=([0-9]+) ]]; then jump="__jump_table=${BASH_REMATCH[1]}"; fi
		readelf -s --wide "$corpus/$name.ORIG.o" >"$work/symtab/$name"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$corpus/$name.ORIG.o" "$corpus/$patched" \
			"$(merge_sizes "$corpus_sizes $jump ${corpus_overrides[$name]:-}")" \
			"$(merge_sizes "$corpus_sizes $jump")" "$work/symtab/$name" /dev/null
	done < <(tail -n +2 "$corpus/expected.tsv")
}

# The 6.1 pairs: each patch changes one function of one large file.
write_patches() {
	cat >"$work/sched-core.patch" <<'EOF'
--- a/kernel/sched/core.c
+++ b/kernel/sched/core.c
@@ -7857,7 +7857,7 @@
  */
 void sched_set_fifo_low(struct task_struct *p)
 {
-	struct sched_param sp = { .sched_priority = 1 };
+	struct sched_param sp = { .sched_priority = 2 };
 	WARN_ON_ONCE(sched_setscheduler_nocheck(p, SCHED_FIFO, &sp) != 0);
 }
 EXPORT_SYMBOL_GPL(sched_set_fifo_low);
EOF
	# io_schedule_timeout is __sched, so it sits in .sched.text with other
	# functions even under -ffunction-sections, and both tools must reject
	# it.
	cat >"$work/sched-core-schedtext.patch" <<'EOF'
--- a/kernel/sched/core.c
+++ b/kernel/sched/core.c
@@ -8833,6 +8833,8 @@
 	int token;
 	long ret;
 
+	if (timeout < 0)
+		timeout = 0;
 	token = io_schedule_prepare();
 	ret = schedule_timeout(timeout);
 	io_schedule_finish(token);
EOF
	cat >"$work/ipv4-tcp.patch" <<'EOF'
--- a/net/ipv4/tcp.c
+++ b/net/ipv4/tcp.c
@@ -3517,7 +3517,7 @@
 int tcp_sock_set_keepcnt(struct sock *sk, int val)
 {
 	if (val < 1 || val > MAX_TCP_KEEPCNT)
-		return -EINVAL;
+		return -ERANGE;
 
 	lock_sock(sk);
 	/* Paired with READ_ONCE() in keepalive_probes() */
EOF
	cat >"$work/bpf-verifier.patch" <<'EOF'
--- a/kernel/bpf/verifier.c
+++ b/kernel/bpf/verifier.c
@@ -2120,7 +2120,7 @@
 
 bool bpf_prog_has_kfunc_call(const struct bpf_prog *prog)
 {
-	return !!prog->aux->kfunc_tab;
+	return prog->aux->kfunc_tab && prog->aux->kfunc_tab->nr_descs;
 }
 
 const struct btf_func_model *
EOF
}

# Compiles one 6.1 pair with keepup build --keep-work from
# $work/NAME.patch and copies both objects to $work/pairs. The build's exit
# status is ignored because only the compiled objects matter, and the
# sched-core-schedtext change is rejected by design.
build_kernel_pair() {
	local name=$1 patch="$work/$1.patch" log="$work/build-$1.log" source scratch
	source="$(sed -n 's#^+++ b/##p' "$patch")"
	(cd "$work" && "$keepup" build --kernel "$kernel" --cache-dir "$cache" --keep-work \
		-o "$work/$name.ko" "$patch" >/dev/null 2>"$log") || true

	scratch="$(sed -n 's/^keeping scratch directory //p' "$log")"
	if [ -z "$scratch" ] || [ ! -f "$scratch/objects/patched/${source%.c}.o" ]; then
		echo "keepup build of $name compiled no object pair; its log:" >&2
		cat "$log" >&2
		exit 1
	fi
	cp "$scratch/objects/orig/${source%.c}.o" "$work/pairs/$name.ORIG.o"
	cp "$scratch/objects/patched/${source%.c}.o" "$work/pairs/$name.PATCHED.o"
	rm -rf "$scratch"
}

# Lists the 6.1 pairs: those in KEEPUP_BENCH_PAIRS when it is set, else
# the pairs that build_kernel_pair compiles from the patches above.
list_kernel_pairs() {
	local json="$cache/kernels/$kernel/kernel.json" vmlinux symvers name orig
	vmlinux="$(sed -n 's/^[[:space:]]*"Vmlinux": "\(.*\)",\{0,1\}$/\1/p' "$json")"
	symvers="$(sed -n 's/^[[:space:]]*"Symvers": "\(.*\)",\{0,1\}$/\1/p' "$json")"
	readelf -s --wide "$vmlinux" >"$work/symtab/vmlinux"
	# The entry sizes of Debian's 6.1 x86-64 build, as keepup build uses
	# them (internal/target/entrysizes.go).
	local sizes="__bug_table=12 __ex_table=12 .altinstructions=12 __jump_table=16 .orc_unwind=6 .static_call_sites=8 .parainstructions=16"

	if [ -n "${KEEPUP_BENCH_PAIRS:-}" ]; then
		for orig in "$KEEPUP_BENCH_PAIRS"/*.ORIG.o; do
			name="$(basename "$orig" .ORIG.o)"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$orig" "$KEEPUP_BENCH_PAIRS/$name.PATCHED.o" \
				"$sizes" "$sizes" "$work/symtab/vmlinux" "$symvers"
		done
		return
	fi

	write_patches
	mkdir -p "$work/pairs"
	for name in sched-core sched-core-schedtext ipv4-tcp bpf-verifier; do
		build_kernel_pair "$name"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$work/pairs/$name.ORIG.o" "$work/pairs/$name.PATCHED.o" \
			"$sizes" "$sizes" "$work/symtab/vmlinux" "$symvers"
	done
	if [ -n "${KEEPUP_BENCH_KEEP:-}" ]; then
		mkdir -p "$KEEPUP_BENCH_KEEP"
		cp "$work"/pairs/*.o "$KEEPUP_BENCH_KEEP"/
	fi
}

# make_keepup_command and make_cdo_command take the fields of a pair list
# line and set cmd to the command that runs the tool on that pair.
make_keepup_command() {
	local orig=$2 patched=$3 sizes=$4 kv
	cmd=("$keepup" diff)
	for kv in $sizes; do cmd+=(--entry-size "$kv"); done
	cmd+=("$orig" "$patched")
}

make_cdo_command() {
	local name=$1 orig=$2 patched=$3 sizes=$5 symtab=$6 symvers=$7 kv
	cmd=(env)
	for kv in $sizes; do cmd+=("${size_vars[${kv%%=*}]}=${kv#*=}"); done
	cmd+=("$cdo" "$orig" "$patched" vmlinux "$symtab" "$symvers" livepatch_bench "$work/out/$name.o")
}

# Runs a tool once over a list under GNU time and stores each pair's
# report (stdout and stderr), exit status and maximum RSS in $work/TAG.
measure_pass() {
	local command=$1 list=$2 tag=$3 line rc
	local -a fields cmd
	mkdir -p "$work/$tag"
	while IFS= read -r line; do
		IFS=$'\t' read -r -a fields <<<"$line"
		"$command" "${fields[@]}"
		rc=0
		/usr/bin/time -v -o "$work/$tag/${fields[0]}.time" "${cmd[@]}" >"$work/$tag/${fields[0]}.out" 2>&1 || rc=$?
		echo "$rc" >"$work/$tag/${fields[0]}.rc"
		sed -n 's/^\tMaximum resident set size (kbytes): //p' "$work/$tag/${fields[0]}.time" >"$work/$tag/${fields[0]}.kib"
	done <"$list"
}

# Prints the CPU time in microseconds (user plus system) that the tool
# processes used between two outputs of the times builtin, which reads it
# with getrusage for the shell's waited-for children.
cpu_between() {
	awk 'function us(t, m) { split(t, m, /[ms]/); return (m[1] * 60 + m[2]) * 1e6 }
		FNR == 2 { cpu[FILENAME] = us($1) + us($2) }
		END { printf "%d\n", cpu[ARGV[2]] - cpu[ARGV[1]] }' "$1" "$2"
}

# Runs a tool $runs times over every pair of a list, one process at a
# time, and stores each pair's best wall time in microseconds in
# $work/TAG. Prints the best total wall time and the best total CPU time
# of the tool processes, in milliseconds. The timed loop forks nothing but
# the tool, so that the CPU time is the tool's alone, and the times
# builtin runs in this shell because a command substitution would report
# a fresh subshell's children.
timed_runs() {
	local command=$1 list=$2 tag=$3 best_wall="" best_cpu="" r line start us prev wall cpu
	local -a fields cmd
	for ((r = 0; r < runs; r++)); do
		wall=0
		times >"$work/times.before"
		while IFS= read -r line; do
			IFS=$'\t' read -r -a fields <<<"$line"
			"$command" "${fields[@]}"
			start=${EPOCHREALTIME/./}
			"${cmd[@]}" >/dev/null 2>&1 || true
			us=$((${EPOCHREALTIME/./} - start))
			wall=$((wall + us))
			prev=""
			[ "$r" -gt 0 ] && read -r prev <"$work/$tag/${fields[0]}.us"
			if [ -z "$prev" ] || [ "$us" -lt "$prev" ]; then echo "$us" >"$work/$tag/${fields[0]}.us"; fi
		done <"$list"
		times >"$work/times.after"
		cpu=$(cpu_between "$work/times.before" "$work/times.after")
		if [ -z "$best_wall" ] || [ "$wall" -lt "$best_wall" ]; then best_wall=$wall; fi
		if [ -z "$best_cpu" ] || [ "$cpu" -lt "$best_cpu" ]; then best_cpu=$cpu; fi
	done
	echo "$((best_wall / 1000)) $((best_cpu / 1000))"
}

# Prints a stored time in microseconds as milliseconds.
format_ms() { awk '{ printf "%.1f\n", $1 / 1000 }' "$work/$1"; }

# Prints the maximum of the RSS figures stored in $work/TAG.
print_max_rss() { sort -n "$work/$1"/*.kib | tail -n 1; }

# Prints a tool's decision on a pair: the verdict from the exit status,
# then the changed and new functions, sorted. Both tools exit 0 for a
# patch, 3 for no functional change and 2 for a rejection.
print_decision() {
	local tag=$1 name=$2 verdict functions
	case "$(cat "$work/$tag/$name.rc")" in
	0) verdict=changed ;;
	2) verdict=rejected ;;
	3) verdict=no-change ;;
	*) verdict="error($(cat "$work/$tag/$name.rc"))" ;;
	esac
	functions="$(sed -nE 's/^.*: (changed|new)( function)?: ([^:]+)$/\1:\3/p' "$work/$tag/$name.out" | sort -u | paste -sd, -)"
	[ "$verdict" = changed ] || functions=""
	echo "$verdict ${functions:--}"
}

# Measures one set and prints its figures and each pair's decisions.
measure_set() {
	local set=$1 list=$2 pairs wall cpu name k c agree
	pairs=$(wc -l <"$list")
	measure_pass make_keepup_command "$list" "$set-keepup"
	read -r wall cpu < <(timed_runs make_keepup_command "$list" "$set-keepup")
	echo "$set, $pairs pairs, keepup diff: wall $wall ms, CPU $cpu ms (best of $runs runs), peak RSS $(print_max_rss "$set-keepup") KiB"
	if [ -n "$cdo" ]; then
		mkdir -p "$work/out"
		measure_pass make_cdo_command "$list" "$set-cdo"
		read -r wall cpu < <(timed_runs make_cdo_command "$list" "$set-cdo")
		echo "$set, $pairs pairs, create-diff-object: wall $wall ms, CPU $cpu ms (best of $runs runs), peak RSS $(print_max_rss "$set-cdo") KiB"
	fi
	printf 'pair\tkeepup ms\tkeepup KiB\tkeepup decision'
	[ -n "$cdo" ] && printf '\tcdo ms\tcdo KiB\tcdo decision\tagree'
	printf '\n'
	while IFS=$'\t' read -r name _; do
		k="$(print_decision "$set-keepup" "$name")"
		printf '%s\t%s\t%s\t%s' "$name" "$(format_ms "$set-keepup/$name.us")" "$(cat "$work/$set-keepup/$name.kib")" "$k"
		if [ -n "$cdo" ]; then
			c="$(print_decision "$set-cdo" "$name")"
			agree=yes
			[ "$k" = "$c" ] || agree=no
			printf '\t%s\t%s\t%s\t%s' "$(format_ms "$set-cdo/$name.us")" "$(cat "$work/$set-cdo/$name.kib")" "$c" "$agree"
		fi
		printf '\n'
	done <"$list"
}

mkdir -p "$work/symtab"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -f "$corpus/expected.tsv" ]; then
	list_corpus >"$work/corpus.list"
	measure_set corpus "$work/corpus.list"
else
	echo "corpus: skipped, no $corpus/expected.tsv"
fi
if [ -f "$cache/kernels/$kernel/kernel.json" ]; then
	list_kernel_pairs >"$work/kernel.list"
	measure_set "$kernel" "$work/kernel.list"
else
	echo "$kernel: skipped, not prepared in $cache (keepup kernel prepare $kernel)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
