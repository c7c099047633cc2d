package symtab

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// programSources are the C files of a small program in which four files
// define a static function helper, three of them named dup.c, and main.c
// defines a global variable state beside three static ones, so that the
// FILE groups and sympos are exercised on output of the real toolchain.
// They are linked in this order, so the addresses of each name follow it.
type source struct{ path, text string }

var programSources = []source{
	{"main.c", `
int a_entry(void);
int dup1_entry(void);
int dup2_entry(void);
int dup3_entry(void);
int state = 4;
int main(void) { return a_entry() + dup1_entry() + dup2_entry() + dup3_entry(); }
`},
	{"a.c", `
static int counter;
static int helper(int x) { static int calls; calls++; counter += x; return calls; }
int a_entry(void) { return helper(1); }
`},
	{"one/dup.c", `
static int state = 1;
static int helper(int x) { return x + state; }
static int only_one(int x) { return x * 3; }
int dup1_entry(void) { return helper(2) + only_one(1); }
`},
	{"two/dup.c", `
static int state = 2;
static int helper(int x) { return x - state; }
int dup2_entry(void) { return helper(3); }
`},
	{"three/dup.c", `
static int state = 3;
static int helper(int x) { return x * state; }
static int extra(int x) { return x + 7; }
int dup3_entry(void) { return helper(4) + extra(1); }
`},
}

// buildProgram compiles and links programSources and extra with gcc in a
// temporary directory and returns the executable's path.
func buildProgram(t *testing.T, extra ...source) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found")
	}

	dir := t.TempDir()
	var args []string
	for _, src := range append(programSources, extra...) {
		writeFile(t, filepath.Join(dir, src.path), src.text)
		args = append(args, src.path)
	}

	cmd := exec.Command("gcc", append([]string{"-O0", "-o", "prog"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return filepath.Join(dir, "prog")
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// programTable is the table of the program, built by the first test that
// needs it. A Table keeps no open file, so it outlives the build directory.
var programTable *Table

func loadProgram(t *testing.T) *Table {
	t.Helper()
	if programTable != nil {
		return programTable
	}

	prog := buildProgram(t)
	symvers := filepath.Join(t.TempDir(), "Module.symvers")
	writeFile(t, symvers, "0x12345678\ta_entry\tvmlinux\tEXPORT_SYMBOL_GPL\tNS\n")

	table, err := Load(prog, symvers)
	if err != nil {
		t.Fatal(err)
	}
	programTable = table
	return table
}

func TestFindFileUniqueName(t *testing.T) {
	table := loadProgram(t)

	f, err := table.FindFile("a.c", []string{"helper", "counter"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "a.c" {
		t.Errorf("got file %s, want a.c", f)
	}
}

func TestFindFileByLocals(t *testing.T) {
	table := loadProgram(t)

	tests := []struct {
		locals []string
		want   string // the name of the one function only that file defines
	}{
		{[]string{"helper", "only_one"}, "dup1_entry"},
		{[]string{"state", "extra"}, "dup3_entry"},
		// one/dup.c and three/dup.c define these too, but two/dup.c
		// defines exactly these.
		{[]string{"helper", "state"}, "dup2_entry"},
	}
	for _, tt := range tests {
		f, err := table.FindFile("kernel/dup.c", tt.locals)
		if err != nil {
			t.Errorf("locals %v: %v", tt.locals, err)
			continue
		}
		if got := fileOfGlobal(t, table, tt.want); got != f.Index {
			t.Errorf("locals %v: got %s, want the file of %s, #%d", tt.locals, f, tt.want, got)
		}
	}
}

// fileOfGlobal returns the index of the FILE group whose address range
// contains the global function name, found by the helper beside it.
func fileOfGlobal(t *testing.T, table *Table, name string) int {
	t.Helper()
	g, ok := table.Global(name)
	if !ok {
		t.Fatalf("global %s not found", name)
	}
	best, bestIndex := uint64(0), -1
	for _, f := range table.byName["dup.c"] {
		h, ok := f.Local("helper")
		if ok && h.Addr <= g.Addr && h.Addr >= best {
			best, bestIndex = h.Addr, f.Index
		}
	}
	return bestIndex
}

func TestFindFileAmbiguous(t *testing.T) {
	table := loadProgram(t)

	_, err := table.FindFile("dup.c", []string{"helper"})
	if err == nil || !strings.Contains(err.Error(), "ambiguous: 3 vmlinux files") {
		t.Errorf("got error %v, want ambiguous with 3 files", err)
	}
}

func TestFindFileNoMatch(t *testing.T) {
	table := loadProgram(t)

	_, err := table.FindFile("dup.c", []string{"helper", "only_one", "missing_fn"})
	if err == nil || !strings.Contains(err.Error(), `lacks "missing_fn"`) {
		t.Errorf("got error %v, want one naming the missing symbol", err)
	}

	_, err = table.FindFile("nosuch.c", []string{"helper"})
	if err == nil || !strings.Contains(err.Error(), `no FILE symbol "nosuch.c"`) {
		t.Errorf("got error %v, want one naming the missing file", err)
	}
}

func TestSymposDuplicateLocals(t *testing.T) {
	table := loadProgram(t)

	if got := table.Count("helper"); got != 4 {
		t.Fatalf("Count(helper) = %d, want 4", got)
	}
	if got := table.Count("state"); got != 4 {
		t.Fatalf("Count(state) = %d, want 4", got)
	}

	tests := []struct {
		file   string
		locals []string
		name   string
		want   int
	}{
		{"a.c", nil, "helper", 1},
		{"dup.c", []string{"only_one"}, "helper", 2},
		{"dup.c", []string{"helper", "state"}, "helper", 3},
		{"dup.c", []string{"extra"}, "helper", 4},
		{"dup.c", []string{"only_one"}, "state", 2},
		{"dup.c", []string{"helper", "state"}, "state", 3},
		{"dup.c", []string{"extra"}, "state", 4},
	}
	for _, tt := range tests {
		f, err := table.FindFile(tt.file, tt.locals)
		if err != nil {
			t.Errorf("%s %v: %v", tt.file, tt.locals, err)
			continue
		}
		got, err := f.Sympos(tt.name)
		if err != nil {
			t.Errorf("%s: Sympos(%s): %v", f, tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: Sympos(%s) = %d, want %d", f, tt.name, got, tt.want)
		}
	}
}

func TestSymposUniqueLocal(t *testing.T) {
	table := loadProgram(t)

	f, err := table.FindFile("dup.c", []string{"only_one"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Sympos("only_one")
	if err != nil {
		t.Fatal(err)
	}
	if got != 0 {
		t.Errorf("Sympos(only_one) = %d, want 0", got)
	}
}

func TestSymposStaticLocalVariable(t *testing.T) {
	table := loadProgram(t)

	f, err := table.FindFile("a.c", []string{"helper"})
	if err != nil {
		t.Fatal(err)
	}

	var name string
	for n := range f.locals {
		if strings.HasPrefix(n, "calls.") {
			name = n
		}
	}
	if name == "" {
		t.Fatalf("%s: no local named calls.N", f)
	}

	got, err := f.Sympos(name)
	if err != nil {
		t.Fatal(err)
	}
	if got != 0 {
		t.Errorf("Sympos(%s) = %d, want 0", name, got)
	}
}

func TestSymposNotInFile(t *testing.T) {
	table := loadProgram(t)

	f, err := table.FindFile("a.c", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Sympos("only_one")
	if err == nil || !strings.Contains(err.Error(), `no local symbol "only_one"`) {
		t.Errorf("got error %v, want one naming the missing local", err)
	}
}

func TestGlobalAndExport(t *testing.T) {
	table := loadProgram(t)

	g, ok := table.Global("a_entry")
	if !ok {
		t.Fatal("Global(a_entry) not found")
	}
	if g.Type != elf.STT_FUNC || g.Bind != elf.STB_GLOBAL || g.Section != ".text" {
		t.Errorf("Global(a_entry) = %+v, want a global function in .text", g)
	}
	if pos, err := table.Sympos("a_entry"); err != nil || pos != 0 {
		t.Errorf("Sympos(a_entry) = %d, %v, want 0", pos, err)
	}

	if pos, err := table.Sympos("state"); err != nil || pos != 1 {
		t.Errorf("Sympos(state) = %d, %v, want 1 for the global before three statics", pos, err)
	}

	if _, ok := table.Global("helper"); ok {
		t.Error("Global(helper) found a static function")
	}

	e, ok := table.Export("a_entry")
	if !ok {
		t.Fatal("Export(a_entry) not found")
	}
	if e.CRC != 0x12345678 || e.Namespace != "NS" || !e.GPLOnly() {
		t.Errorf("Export(a_entry) = %+v", e)
	}
	if _, ok := table.Export("dup1_entry"); ok {
		t.Error("Export(dup1_entry) found a symbol Module.symvers lacks")
	}
}

func TestLoadKallsymsCountMismatch(t *testing.T) {
	prog := buildProgram(t, source{"count.c", "const unsigned int kallsyms_num_syms = 3;\n"})
	symvers := filepath.Join(t.TempDir(), "Module.symvers")
	writeFile(t, symvers, "")

	_, err := Load(prog, symvers)
	if err == nil || !strings.Contains(err.Error(), "kallsyms_num_syms is 3") {
		t.Errorf("got error %v, want a kallsyms_num_syms mismatch", err)
	}
}
