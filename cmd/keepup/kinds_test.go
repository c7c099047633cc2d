package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/livepatch"
	"github.com/keepup/keepup/internal/target/targettest"
)

// Each kind is one sort of change that real kernel fixes contain, written
// as a small patch against Debian's 6.1.192 source under
// testdata/kinds/KIND/KIND.patch. The test builds it with keepup build,
// compares the whole report with the lines expected from reading the
// disassembly of both objects, and, for a kind that builds a module,
// proves it in the booted kernel with testdata/kinds/KIND/check.sh.

// kindCase is one kind of change and the outcome keepup must give for it.
type kindCase struct {
	name   string
	status int      // exit status of keepup build
	report []string // every report line, in order, without the final "wrote" line
	stderr string   // text standard error must contain, for a build that fails
	// klpSymbols are livepatch symbols the module must carry, such as the
	// running kernel's copy of a static variable.
	klpSymbols []string
	// imports are the symbol namespaces the module's modinfo must import.
	imports []string
	// skip, when set, is the NOTE stating what keepup gets wrong for the
	// kind. The case is kept with the outcome that is right.
	skip string
}

var kinds = []kindCase{
	{
		// drop_caches_sysctl_handler reads and sets "static int stfu",
		// which GCC names stfu.0. The patch must bind to the running
		// kernel's copy, and the check proves it by observing the value an
		// unpatched write left. GCC also splits the handler's pr_info path
		// into drop_caches_sysctl_handler.cold, which the patch carries.
		name:       "static-local",
		report:     []string{"fs/drop_caches.o: changed: drop_caches_sysctl_handler"},
		klpSymbols: []string{".klp.sym.vmlinux.stfu.0,0"},
	},
	{
		// GCC builds snmp_seq_show_ipstats only as the clone
		// snmp_seq_show_ipstats.constprop.0.isra.0, and the patch replaces
		// the clone by that name. Its caller snmp_seq_show is unchanged.
		name:   "clone",
		report: []string{"net/ipv4/proc.o: changed: snmp_seq_show_ipstats.constprop.0.isra.0"},
	},
	{
		// The patch changes the format of the pr_info that GCC moves into
		// drop_caches_sysctl_handler.cold. The hot part's code and
		// relocations stay the same, and the changed function is the
		// parent, which the patch replaces together with its cold part.
		name:   "cold",
		report: []string{"fs/drop_caches.o: changed: drop_caches_sysctl_handler"},
	},
	{
		// GCC splits the body of smap_gather_stats, after its first
		// check, into smap_gather_stats.part.0, and the patch changes only
		// that part.
		name:   "part",
		report: []string{"fs/proc/task_mmu.o: changed: smap_gather_stats.part.0"},
	},
	{
		// Two comment lines and a blank line above task_work_add move its
		// WARN_ON_ONCE from line 70 to 73, which changes only the line in
		// its __bug_table entry.
		name:   "line-only",
		status: exitNoChange,
		report: []string{"kernel/task_work.o: no-change"},
		stderr: "no functional change",
	},
	{
		// The patched show_enabled adds a static_branch_unlikely on
		// lru_gen_caps[LRU_GEN_CORE], a static key array of mm/vmscan.c.
		// The module's __jump_table entries reach the running kernel's key
		// through livepatch relocations, which the module loader applies
		// before it registers the jump labels.
		name:       "static-key",
		report:     []string{"mm/vmscan.o: changed: show_enabled"},
		klpSymbols: []string{".klp.sym.vmlinux.lru_gen_caps,0"},
	},
	{
		// The patched loadavg_proc_show calls cond_resched(), which under
		// PREEMPT_DYNAMIC is the inline static call site of cond_resched,
		// so the module has a .static_call_sites entry keyed on the
		// running kernel's __SCK__cond_resched.
		name:       "static-call",
		report:     []string{"fs/proc/loadavg.o: changed: loadavg_proc_show"},
		klpSymbols: []string{".klp.sym.vmlinux.__SCK__cond_resched,0"},
	},
	{
		// The patched uptime_proc_show has a LOCK-prefixed xadd
		// (.smp_locks), paravirt calls for local_irq_save and
		// local_irq_restore (.parainstructions, with .altinstructions that
		// replace them when not under Xen PV), a static_cpu_has test
		// (.altinstructions and .altinstr_aux), and a new static atomic_t.
		name:   "alternatives",
		report: []string{"fs/proc/uptime.o: changed: uptime_proc_show"},
	},
	{
		// filldir64 has an exception table entry for each unsafe_put_user
		// and for the stores of unsafe_copy_dirent_name, all pointing at
		// its own fixup label, and alternatives for stac, clac and
		// barrier_nospec. The patch changes the name it copies out.
		name:   "extable",
		report: []string{"fs/readdir.o: changed: filldir64"},
	},
	{
		// __set_task_comm calls trace_task_rename, whose site is a jump
		// label on __tracepoint_task_rename and a static call of
		// tp_func_task_rename, both reached through livepatch relocations.
		name:   "tracepoint",
		report: []string{"fs/exec.o: changed: __set_task_comm"},
		klpSymbols: []string{
			".klp.sym.vmlinux.__tracepoint_task_rename,0",
			".klp.sym.vmlinux.__SCK__tp_func_task_rename,0",
		},
	},
	{
		// vmlinux has two static functions named seq_show. The one of
		// fs/proc/fd.c, which prints /proc/PID/fdinfo/N, comes first in
		// kallsyms, so the patch must name it with position 1.
		name:   "duplicate-name",
		report: []string{"fs/proc/fd.o: changed: seq_show"},
	},
	{
		// The patch changes show_val_kb, a static helper that GCC inlines
		// into meminfo_proc_show and that vmlinux has no symbol for, so
		// the changed function is the caller.
		name:   "inlined",
		report: []string{"fs/proc/meminfo.o: changed: meminfo_proc_show"},
	},
	{
		// version_proc_show calls a new static function, a new global
		// function, and a third new function through a new static
		// pointer, which GCC places in .rodata.keepup_show_hook because
		// nothing writes it.
		name: "new-functions",
		report: []string{
			"fs/proc/version.o: new: keepup_show_global",
			"fs/proc/version.o: new: keepup_show_pointed",
			"fs/proc/version.o: new: keepup_show_static",
			"fs/proc/version.o: changed: version_proc_show",
		},
	},
	{
		// filesystems_proc_show prints "keepup-nodev" in place of the
		// literal "nodev".
		name:   "string-literal",
		report: []string{"fs/filesystems.o: changed: filesystems_proc_show"},
	},
	{
		// cmdline_proc_show counts its reads in a new zero-initialized
		// static (.bss.cmdline_reads) and a new static initialized to 1000
		// (.data.cmdline_serial). The module carries fresh copies of both.
		name:   "new-data",
		report: []string{"fs/proc/cmdline.o: changed: cmdline_proc_show"},
	},
	{
		// proc_nr_dentry reads a new __read_mostly variable, which shares
		// the one .data..read_mostly section of fs/dcache.o with existing
		// variables. The patch moves no line after proc_nr_dentry, so no
		// other function's BUG or WARN site moves.
		name:   "read-mostly",
		report: []string{"fs/dcache.o: changed: proc_nr_dentry"},
	},
	{
		// As read-mostly, and proc_nr_dentry also reads the existing
		// __read_mostly sysctl_vfs_cache_pressure, which the patch must
		// take from the running kernel.
		name:   "read-mostly-existing",
		report: []string{"fs/dcache.o: changed: proc_nr_dentry"},
	},
	{
		// A comment line and a blank line above proc_nr_dentry move every
		// later line of fs/dcache.c. __d_move keeps its code and
		// relocations. What changes is the line fields of the __bug_table
		// entries for its BUG_ON and WARN sites, and the file:line that
		// FORTIFY's field overflow messages put in its string literals.
		name:   "line-only-bug-sites",
		status: exitNoChange,
		report: []string{"fs/dcache.o: no-change"},
		stderr: "no functional change",
	},
	{
		// A comment line above call_fib4_notifiers moves the two
		// ASSERT_RTNL sites below it one line down. Each passes its line
		// to __warn_printk as an immediate, 22 becoming 23 and 31
		// becoming 32, which the diff's line map shows are moved lines.
		name:   "line-only-immediates",
		status: exitNoChange,
		report: []string{
			"net/ipv4/fib_notifier.o: ignored: call_fib4_notifiers: " + movedLinesReason,
			"net/ipv4/fib_notifier.o: ignored: fib4_seq_read: " + movedLinesReason,
			"net/ipv4/fib_notifier.o: no-change",
		},
		stderr: "no functional change",
	},
	{
		// The patch corrects the size ddebug_proc_write prints from 4096
		// to 4095. Only the immediate passed to printk changes, as it
		// would for a moved line, but 4096 is no line of the file, so the
		// function is changed. lib/ is built without ftrace hooks and
		// the function is reached through its file operations, so the
		// change is then rejected.
		name:   "printk-constant",
		status: exitRejected,
		report: []string{
			"lib/dynamic_debug.o: changed: ddebug_proc_write",
			"lib/dynamic_debug.o: rejected: ddebug_proc_write: function has no ftrace hook (notrace) " +
				"and its address is stored in .rodata.proc_fops, so the live patch core cannot redirect it",
		},
		stderr: "ddebug_proc_write",
	},
	{
		// A pr_info_once in __set_task_comm adds a once flag to
		// .data.once, and GCC renumbers the file's flags: setup_arg_pages's
		// __already_done.4 becomes __already_done.5, the new one is
		// __already_done.3, and do_execveat_common.isra.0 keeps
		// __already_done.2. Only __set_task_comm changes.
		name:   "once-flag",
		report: []string{"fs/exec.o: changed: __set_task_comm"},
	},
	{
		// arch/x86/kernel/tsc.o is built without -pg, so the global
		// native_sched_clock has no ftrace hook and a change to it is
		// rejected. The report lists the function as changed and then
		// gives the rejection.
		name:   "notrace",
		status: exitRejected,
		report: []string{
			"arch/x86/kernel/tsc.o: changed: native_sched_clock",
			"arch/x86/kernel/tsc.o: rejected: native_sched_clock: function has no ftrace hook " +
				"(notrace) and is global, so the live patch core cannot redirect it",
		},
		stderr: "native_sched_clock",
	},
	{
		// The patch adds a second "static int stfu" to
		// drop_caches_sysctl_handler, in its slab branch. GCC numbers the
		// two stfu.0 and stfu.1, and neither the numbers nor the
		// functions that use each first tell which one the running
		// kernel's stfu.0 is, so both are rejected.
		name:   "static-local-namesake",
		status: exitRejected,
		report: []string{
			"fs/drop_caches.o: changed: drop_caches_sysctl_handler",
			"fs/drop_caches.o: rejected: stfu.0: " + namesakeReason,
			"fs/drop_caches.o: rejected: stfu.1: " + namesakeReason,
		},
		stderr: "stfu.0",
	},
	{
		// The patched cmdline_proc_show calls dma_buf_get, which vmlinux
		// exports in the DMA_BUF namespace. Built-in code needs no import,
		// so the patch has no MODULE_IMPORT_NS; the module must import the
		// namespace all the same, or the kernel refuses to load it.
		name:    "import-ns",
		report:  []string{"fs/proc/cmdline.o: changed: cmdline_proc_show"},
		imports: []string{"DMA_BUF"},
	},
	{
		// The patched cmdline_proc_show computes the zero page's frame
		// number from empty_zero_page through R_X86_64_32S next to the
		// constant 0x80000000, and from phys_base, page_offset_base and
		// zero_pfn through PC-relative relocations. GCC 12 emits no
		// 64-bit absolute relocation with a large addend here; the object
		// layer keeps 64-bit addends whole for objects that have one.
		name:   "zero-page",
		report: []string{"fs/proc/cmdline.o: changed: cmdline_proc_show"},
	},
	{
		// pipe_max_size, an existing static of fs/pipe.c, gets another
		// initial value. The running kernel's copy keeps the old one, so
		// the change is rejected.
		name:   "data-init",
		status: exitRejected,
		report: []string{"fs/pipe.o: rejected: pipe_max_size: change to existing data, " +
			"whose contents in the running kernel a live patch cannot replace"},
		stderr: "pipe_max_size",
	},
}

const movedLinesReason = "only line numbers passed to WARN, printk or might_sleep sites changed, each a line the change moved"

const namesakeReason = "static variable cannot be matched with the running kernel's copy: " +
	"the change takes the number of static variables named stfu in drop_caches_sysctl_handler " +
	"from 1 to 2, so which of them the running kernel has is unknown"

func TestKinds(t *testing.T) {
	for _, kc := range kinds {
		t.Run(kc.name, func(t *testing.T) {
			if kc.skip != "" {
				t.Skip("NOTE: " + kc.skip)
			}
			dir, stdout := buildKind(t, kc)
			if kc.status != 0 {
				return
			}
			module := filepath.Join(dir, "livepatch-"+kc.name+".ko")
			checkModinfo(t, module)
			checkKlpSymbols(t, module, kc.klpSymbols)
			checkImports(t, module, kc.imports)
			proveKind(t, kc, dir, module, stdout)
		})
	}
}

// buildKind runs keepup build on the kind's patch, checks the exit status
// and the report, and returns the directory it ran in and its output.
func buildKind(t *testing.T, kc kindCase) (string, string) {
	t.Helper()
	k := targettest.Kernel(t)
	dir := t.TempDir()
	args := append([]string{"build", "--kernel", k.Release}, cacheArgs()...)
	args = append(args, kindPath(t, kc.name, kc.name+".patch"))
	stdout, stderr, status := runKeepup(t, dir, args...)
	if status != kc.status {
		t.Fatalf("keepup build exited %d, want %d\n%s%s", status, kc.status, stdout, stderr)
	}
	want := strings.Join(kc.report, "\n") + "\n"
	if kc.status == 0 {
		want += "wrote livepatch-" + kc.name + ".ko\n"
	}
	if stdout != want {
		t.Errorf("report:\n%s\nwant:\n%s", stdout, want)
	}
	if kc.stderr != "" && !strings.Contains(stderr, kc.stderr) {
		t.Errorf("stderr lacks %q:\n%s", kc.stderr, stderr)
	}
	if kc.status != 0 {
		assertEmptyDir(t, dir)
	}
	return dir, stdout
}

// proveKind runs keepup vmtest on the module with the kind's check script.
func proveKind(t *testing.T, kc kindCase, dir, module, buildOutput string) {
	t.Helper()
	args := append([]string{"vmtest", "--kernel", targettest.Kernel(t).Release, "--accel", "tcg"}, cacheArgs()...)
	args = append(args, module, "--check", kindPath(t, kc.name, "check.sh"))
	stdout, stderr, status := runKeepup(t, dir, args...)
	if status != 0 {
		t.Fatalf("keepup vmtest exited %d\nbuild:\n%s\nvmtest:\n%s%s", status, buildOutput, stdout, stderr)
	}
	if !strings.Contains(stdout, "result: PASS") {
		t.Errorf("vmtest output lacks a pass:\n%s", stdout)
	}
	if !strings.Contains(stdout, "kernel log: clean") {
		t.Errorf("vmtest output lacks a clean kernel log:\n%s", stdout)
	}
}

// checkImports checks that the module's modinfo imports each namespace.
func checkImports(t *testing.T, module string, want []string) {
	t.Helper()
	info, err := livepatch.ReadModinfo(module)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range want {
		if !slices.Contains(info.Fields["import_ns"], ns) {
			t.Errorf("modinfo imports %q, want %s among them", info.Fields["import_ns"], ns)
		}
	}
}

func kindPath(t *testing.T, kind, file string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "kinds", kind, file))
	if err != nil {
		t.Fatal(err)
	}
	return path
}
