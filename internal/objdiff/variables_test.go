package objdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// compileSource builds src with gcc as the kernel would: function and data
// sections and an ftrace hook in every function. The source file is always
// named source.c, as both builds of one kernel file have one name.
func compileSource(t *testing.T, name, src string) *elfobj.File {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "source.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, name+".o")
	cmd := exec.Command("gcc", "-c", "-O2", "-pg", "-mfentry", "-ffunction-sections", "-fdata-sections", "-o", obj, c)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	f, err := elfobj.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const readMostlyOrig = `
#define __read_mostly __attribute__((__section__(".data..read_mostly")))
int pressure __read_mostly = 100;
int read_pressure(void) { return pressure; }
`

const readMostlyPatched = `
#define __read_mostly __attribute__((__section__(".data..read_mostly")))
int pressure __read_mostly = 100;
static int bias __read_mostly = 5;
int read_pressure(void) { return pressure + bias; }
`

func TestNewVariableBesideExistingOne(t *testing.T) {
	orig := compileSource(t, "orig", readMostlyOrig)
	patched := compileSource(t, "patched", readMostlyPatched)
	res, err := Diff(orig, patched, Options{Object: "read_mostly.o"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Changed {
		t.Fatalf("verdict %s, want changed: %v", res.Verdict, res.Lines())
	}
	pressure := res.Patch.Symbol("pressure")
	if pressure == nil {
		t.Fatal("patch object does not refer to pressure")
	}
	if pressure.Section != nil {
		t.Errorf("pressure is defined in the patch's copy of %s; it must stay the running kernel's", pressure.Section.Name)
	}
	bias := res.Patch.Symbol("bias")
	if bias == nil || bias.Section == nil {
		t.Error("patch object does not carry the new variable bias")
	}
}

func TestStringsCompareWithoutSourceLines(t *testing.T) {
	a := withoutSourceLines(`field "dentry->d_iname" at fs/dcache.c:2930`)
	b := withoutSourceLines(`field "dentry->d_iname" at fs/dcache.c:2932`)
	if a != b {
		t.Errorf("%q and %q differ; a moved source location must compare equal", a, b)
	}
	if withoutSourceLines("copy 2930 bytes") != "copy 2930 bytes" {
		t.Error("a number outside a source location was changed")
	}
}

// onceFlagsSource keeps two one-byte statics in one section and tests one
// with "cmpb $0x0, flag(%rip)", whose immediate follows the displacement.
const onceFlagsSource = `
static char first __attribute__((__section__(".data.once")));
static char second __attribute__((__section__(".data.once")));
int use_second(void) { if (!second) { second = 1; return 1; } return 0; }
int use_first(void) { if (!first) { first = 1; return 2; } return 0; }
`

func TestSectionReferenceResolvesToVariable(t *testing.T) {
	f := compileSource(t, "once", onceFlagsSource)
	o := indexObject(f)
	fn := f.Symbol("use_second")
	if fn == nil {
		t.Fatal("no use_second in the object")
	}
	found := false
	for _, rel := range o.relocsIn(fn) {
		target, _ := o.resolve(rel)
		if target == nil || target.Section == nil || target.Section.Name != ".data.once" {
			continue
		}
		found = true
		if target.Name != "second" {
			t.Errorf("relocation at %#x resolves to %q, want second", rel.Offset, target.Name)
		}
	}
	if !found {
		t.Fatal("use_second has no reference into .data.once")
	}
}
