package symtab

import (
	"debug/elf"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keepup/keepup/internal/target/targettest"
)

// Environment variables that name a vmlinux and Module.symvers directly,
// for runs that need no prepared kernel. Without them the tests use
// targettest.Kernel, which skips unless KEEPUP_TEST_KERNEL is set.
const (
	vmlinuxEnv = "KEEPUP_TEST_VMLINUX"
	symversEnv = "KEEPUP_TEST_SYMVERS"
)

func targetFiles(t *testing.T) (vmlinux, symvers string) {
	t.Helper()
	vmlinux, symvers = os.Getenv(vmlinuxEnv), os.Getenv(symversEnv)
	if vmlinux != "" && symvers != "" {
		return vmlinux, symvers
	}
	k := targettest.Kernel(t)
	return k.Vmlinux, k.Symvers
}

var (
	targetTable    *Table
	targetLoadTime time.Duration
)

// loadTarget loads the target's table once per test binary.
func loadTarget(t *testing.T) *Table {
	t.Helper()
	vmlinux, symvers := targetFiles(t)
	if targetTable != nil {
		return targetTable
	}

	start := time.Now()
	table, err := Load(vmlinux, symvers)
	if err != nil {
		t.Fatal(err)
	}
	targetTable, targetLoadTime = table, time.Since(start)
	return table
}

func TestTargetLoad(t *testing.T) {
	table := loadTarget(t)
	t.Logf("loaded in %v: %d files, %d globals, %d exports, %d kallsyms names, kallsyms all=%v",
		targetLoadTime, len(table.files), len(table.globals), len(table.exports), len(table.index), table.KallsymsAll())
}

func TestTargetCmdlineProcShow(t *testing.T) {
	table := loadTarget(t)

	f, err := table.FindFile("fs/proc/cmdline.c", []string{"cmdline_proc_show"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "cmdline.c" {
		t.Errorf("got file %s, want cmdline.c", f)
	}

	pos, err := f.Sympos("cmdline_proc_show")
	if err != nil {
		t.Fatal(err)
	}
	if pos != 0 {
		t.Errorf("Sympos(cmdline_proc_show) = %d, want 0", pos)
	}
}

func TestTargetSavedCommandLine(t *testing.T) {
	table := loadTarget(t)
	_, symvers := targetFiles(t)

	text, err := os.ReadFile(symvers)
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Contains(string(text), "\tsaved_command_line\t")

	if _, ok := table.Export("saved_command_line"); ok != listed {
		t.Errorf("Export(saved_command_line) found = %v, Module.symvers lists it = %v", ok, listed)
	}

	g, ok := table.Global("saved_command_line")
	if !ok {
		t.Fatal("Global(saved_command_line) not found")
	}
	if g.Type != elf.STT_OBJECT {
		t.Errorf("saved_command_line has type %v, want STT_OBJECT", g.Type)
	}
	if pos, err := table.Sympos("saved_command_line"); err != nil || pos != 0 {
		t.Errorf("Sympos(saved_command_line) = %d, %v, want 0", pos, err)
	}
}

func TestTargetSeqPrintfExport(t *testing.T) {
	table := loadTarget(t)

	e, ok := table.Export("seq_printf")
	if !ok {
		t.Fatal("Export(seq_printf) not found")
	}
	if e.Module != "vmlinux" || e.CRC == 0 || e.Namespace != "" {
		t.Errorf("Export(seq_printf) = %+v, want a vmlinux export with a CRC and no namespace", e)
	}
}

// TestTargetExportCRCs compares the CRCs of Module.symvers with the
// __crc_NAME values in the vmlinux's __kcrctab sections.
func TestTargetExportCRCs(t *testing.T) {
	table := loadTarget(t)
	vmlinux, _ := targetFiles(t)

	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}

	checked := 0
	for _, s := range syms {
		name, ok := strings.CutPrefix(s.Name, "__crc_")
		if !ok || int(s.Section) >= len(f.Sections) {
			continue
		}
		e, ok := table.Export(name)
		if !ok {
			t.Errorf("%s: vmlinux has a CRC, Module.symvers has no export", name)
			continue
		}
		crc, err := readUint32(f, f.Sections[s.Section], s.Value)
		if err != nil {
			t.Fatal(err)
		}
		if crc != e.CRC {
			t.Errorf("%s: CRC %#x in vmlinux, %#x in Module.symvers", name, crc, e.CRC)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("vmlinux has no __crc_ symbols")
	}
	t.Logf("%d CRCs match", checked)
}

// TestTargetDuplicateLocals finds every file that defines a local
// type_show, a name many files define, and checks that each gets its own
// sympos.
func TestTargetDuplicateLocals(t *testing.T) {
	table := loadTarget(t)
	const name = "type_show"

	count := table.Count(name)
	if count < 2 {
		t.Fatalf("Count(%s) = %d, want several", name, count)
	}

	seen := make(map[int]string)
	for _, f := range table.files {
		if _, ok := f.Local(name); !ok {
			continue
		}
		found, err := table.FindFile(f.Name, f.funcAndObjectNames())
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		pos, err := found.Sympos(name)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if pos < 1 || pos > count {
			t.Errorf("%s: Sympos(%s) = %d, want 1 to %d", f, name, pos, count)
		}
		if other, ok := seen[pos]; ok {
			t.Errorf("%s and %s: both get sympos %d", f, other, pos)
		}
		seen[pos] = f.String()
	}
	if len(seen) < 2 {
		t.Errorf("%d files define a local %s, want several", len(seen), name)
	}
}

// TestTargetFindEveryFile looks up every file group by its own local
// functions and objects. Only groups with none of them, which no live
// patch needs to find, may be ambiguous.
func TestTargetFindEveryFile(t *testing.T) {
	table := loadTarget(t)

	ambiguous := 0
	for _, f := range table.files {
		locals := f.funcAndObjectNames()
		found, err := table.FindFile(f.Name, locals)
		if err != nil && len(locals) == 0 && strings.Contains(err.Error(), "ambiguous") {
			ambiguous++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if found != f {
			t.Errorf("%s: found %s", f, found)
		}
	}
	t.Logf("%d of %d files found, %d without local functions or objects are ambiguous", len(table.files)-ambiguous, len(table.files), ambiguous)
}

func TestTargetGCCSuffixes(t *testing.T) {
	table := loadTarget(t)

	found := map[string]bool{}
	for name := range table.index {
		for _, suffix := range []string{".cold", ".isra.0", ".constprop.0", ".part.0"} {
			if strings.HasSuffix(name, suffix) {
				found[suffix] = true
			}
		}
	}
	for _, suffix := range []string{".cold", ".isra.0", ".constprop.0", ".part.0"} {
		if !found[suffix] {
			t.Errorf("no kallsyms name ends in %s", suffix)
		}
	}
}

// TestTargetKallsymsTable decodes the kallsyms table compiled into vmlinux
// and checks that the symbol table gives the same names, in the same
// order for each name, at the same addresses.
func TestTargetKallsymsTable(t *testing.T) {
	table := loadTarget(t)
	vmlinux, _ := targetFiles(t)

	entries, err := decodeKallsyms(vmlinux)
	if err != nil {
		t.Fatal(err)
	}

	decoded := make(map[string][]uint64)
	for _, e := range entries {
		decoded[e.name] = append(decoded[e.name], e.addr)
	}

	mismatches := 0
	for name, addrs := range decoded {
		if fmt.Sprint(addrs) != fmt.Sprint(table.index[name]) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("%s: kallsyms %x, symbol table %x", name, addrs, table.index[name])
			}
		}
	}
	for name := range table.index {
		if _, ok := decoded[name]; !ok {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("%s: in the symbol table's kallsyms, not in the vmlinux's", name)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d names differ", mismatches)
	}
	t.Logf("%d kallsyms entries, %d names", len(entries), len(decoded))
}

func (f *File) funcAndObjectNames() []string {
	var names []string
	for name, syms := range f.locals {
		if isFuncOrObject(syms[0]) {
			names = append(names, name)
		}
	}
	return names
}

func TestTargetInitSymbols(t *testing.T) {
	table := loadTarget(t)

	f, err := table.FindFile("fs/proc/cmdline.c", []string{"cmdline_proc_show", "proc_cmdline_init"})
	if err != nil {
		t.Fatal(err)
	}
	init, ok := f.Local("proc_cmdline_init")
	if !ok || !init.Init {
		t.Errorf("Local(proc_cmdline_init) = %+v, %v, want an init symbol", init, ok)
	}
	if _, err := f.Sympos("proc_cmdline_init"); err == nil || !strings.Contains(err.Error(), "init memory") {
		t.Errorf("Sympos(proc_cmdline_init): got error %v, want one about init memory", err)
	}

	if _, err := table.Sympos("start_kernel"); err == nil || !strings.Contains(err.Error(), "init memory") {
		t.Errorf("Sympos(start_kernel): got error %v, want one about init memory", err)
	}
	if show, _ := f.Local("cmdline_proc_show"); show.Init {
		t.Error("cmdline_proc_show: marked as init")
	}
}
