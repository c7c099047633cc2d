package objdiff

import (
	"debug/elf"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// fixtureCases are object pairs built by testdata/build.sh from the C
// sources beside them.
var fixtureCases = []struct {
	name, orig, patched string
	verdict             Verdict
	functions           []string // KIND:NAME, sorted
	lines               []string // report lines that must appear
	carries             []string // sections the patch object must contain
	moved               func(int) (int, bool)
}{
	{name: "line number only", orig: "lines.a", patched: "lines.b", verdict: NoChange},
	{name: "line number only, lines known", orig: "lines.a", patched: "lines.b", verdict: NoChange, moved: shiftFrom(3, 2)},
	{
		// Without the source change the differ cannot tell 4096 from a
		// line number, as both go to printk as its second argument.
		name: "constant passed like a line number", orig: "printk.a", patched: "printk.b", verdict: NoChange,
	},
	{
		name: "constant passed like a line number, lines known", orig: "printk.a", patched: "printk.b", verdict: Changed,
		functions: []string{"changed:limit"}, moved: shiftFrom(100, 0),
	},
	{
		name: "static namesake added", orig: "namesake.a", patched: "namesake.b", verdict: Rejected,
		functions: []string{"changed:tally"},
		lines:     []string{"static variables named seen in tally from 1 to 2"},
	},
	{
		name: "static namesake removed", orig: "namesake.b", patched: "namesake.a", verdict: Rejected,
		functions: []string{"changed:tally"},
		lines:     []string{"static variables named seen in tally from 2 to 1"},
	},
	{
		name: "constant to other function", orig: "lines.a", patched: "constant.b", verdict: Changed,
		functions: []string{"changed:other"},
	},
	{
		name: "init only", orig: "init.a", patched: "init.b", verdict: Rejected,
		lines: []string{"init.b: rejected: setup: change to __init code"},
	},
	{
		name: "init beside runtime", orig: "init.a", patched: "init-and-runtime.b", verdict: Changed,
		functions: []string{"changed:show"},
		lines:     []string{"init-and-runtime.b: ignored: setup: change to __init code"},
	},
	{
		name: "meminit code", orig: "meminit.a", patched: "meminit.b", verdict: Rejected,
		functions: []string{"changed:online_range"},
		lines:     []string{"meminit.b: rejected: online_range: change to __meminit code"},
	},
	{
		name: "lock class keys", orig: "keys.a", patched: "keys.b", verdict: Changed,
		functions: []string{"changed:dev_init"},
		carries:   []string{".bss.__key.1", ".bss.__key.2"},
	},
	{
		name: "static whose first user changed", orig: "owner.a", patched: "owner.b", verdict: Changed,
		functions: []string{"changed:first"},
	},
	{
		name: "untraced function through callers", orig: "notrace.a", patched: "notrace.b", verdict: Changed,
		functions: []string{"changed:area", "changed:volume"},
		carries:   []string{".text.scale"},
	},
	{
		name: "switch table of strings", orig: "switch.a", patched: "switch.b", verdict: Changed,
		functions: []string{"changed:state_name"},
		carries:   []string{".rodata.CSWTCH.1"},
	},
	{
		name: "pointer to new function", orig: "newfunc.a", patched: "newfunc.b", verdict: Changed,
		functions: []string{"changed:open_ops", "new:show_fancy"},
	},
	{
		name: "function removed", orig: "newfunc.b", patched: "newfunc.a", verdict: Changed,
		functions: []string{"changed:open_ops"},
		lines:     []string{"newfunc.a: ignored: show_fancy: no longer in the object"},
	},
}

// shiftFrom is the line map of a change that inserts n lines before line
// from and leaves every line unchanged.
func shiftFrom(from, n int) func(int) (int, bool) {
	return func(line int) (int, bool) {
		if line >= from {
			return line + n, true
		}
		return line, true
	}
}

func openFixture(t testing.TB, name string) *elfobj.File {
	t.Helper()
	f, err := elfobj.Open(filepath.Join("testdata", name+".o"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDiffFixtures(t *testing.T) {
	for _, c := range fixtureCases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Diff(openFixture(t, c.orig), openFixture(t, c.patched), Options{Object: c.patched, MovedLine: c.moved})
			if err != nil {
				t.Fatalf("diff: %v", err)
			}
			report := strings.Join(res.Lines(), "\n")
			if res.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s\n%s", res.Verdict, c.verdict, report)
			}
			var got []string
			for _, f := range res.Functions {
				got = append(got, string(f.Kind)+":"+f.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.functions) {
				t.Errorf("functions %v, want %v", got, c.functions)
			}
			for _, line := range c.lines {
				if !strings.Contains(report, line) {
					t.Errorf("report lacks %q:\n%s", line, report)
				}
			}
			for _, name := range c.carries {
				if res.Patch == nil || res.Patch.Section(name) == nil {
					t.Errorf("patch object lacks section %s", name)
				}
			}
			if res.Patch != nil {
				if _, err := res.Patch.Bytes(); err != nil {
					t.Errorf("write patch object: %v", err)
				}
			}
		})
	}
}

// linuxEntrySizes are the entry sizes of Linux 6.1 on x86-64.
var linuxEntrySizes = map[string]int{"__jump_table": 16, "__ex_table": 12, ".altinstructions": 12}

func TestDiffSpecialEntries(t *testing.T) {
	res, err := Diff(openFixture(t, "specials.a"), openFixture(t, "specials.b"), Options{Object: "specials.b", EntrySizes: linuxEntrySizes})
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	if res.Verdict != Changed || len(res.Functions) != 1 || res.Functions[0].Name != "handle" {
		t.Fatalf("verdict %s, want changed: handle\n%s", res.Verdict, strings.Join(res.Lines(), "\n"))
	}
	// handle has one entry in each table; untouched has its own jump
	// label and lock prefix, which stay behind.
	want := map[string]uint64{"__jump_table": 16, "__ex_table": 12, ".smp_locks": 4}
	for name, size := range want {
		s := res.Patch.Section(name)
		if s == nil {
			t.Errorf("patch object lacks section %s", name)
			continue
		}
		if s.SectionSize() != size {
			t.Errorf("section %s: %d bytes, want %d", name, s.SectionSize(), size)
		}
	}
}

func TestDiffOtherSourceFile(t *testing.T) {
	orig, patched := openFixture(t, "lines.a"), openFixture(t, "lines.b")
	for _, y := range patched.Symbols {
		if y.Type == elf.STT_FILE {
			y.Name = "other.c"
		}
	}
	_, err := Diff(orig, patched, Options{})
	if err == nil || !strings.Contains(err.Error(), "fixture.c but") || !strings.Contains(err.Error(), "from other.c") {
		t.Errorf("error %v, want one naming fixture.c and other.c", err)
	}
}
