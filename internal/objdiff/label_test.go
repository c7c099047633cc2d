package objdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// labelSource records a table entry that points at a string literal
// through an inline-asm operand, as the kernel's WARN and BUG do. The
// assembler then refers to the string through a kept label such as
// ".LC0", because the string sits in a mergeable section.
const labelSource = `
int f(int x)
{
	asm volatile("1: nop\n"
		".pushsection __bug_table,\"aw\"\n"
		".long 1b - .\n"
		".long %c0 - .\n"
		".popsection\n" :: "i"("fs/proc/example.c"));
	return x + DELTA;
}
`

func compileLabelObject(t *testing.T, delta string) *elfobj.File {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "label.c")
	if err := os.WriteFile(src, []byte(labelSource), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "label.o")
	cmd := exec.Command("gcc", "-c", "-O2", "-pg", "-mfentry", "-ffunction-sections", "-fdata-sections", "-DDELTA="+delta, "-o", obj, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	f, err := elfobj.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAssemblerLabelCarried(t *testing.T) {
	orig := compileLabelObject(t, "1")
	patched := compileLabelObject(t, "2")
	if patched.Symbol(".LC0") == nil {
		t.Skip("this gcc refers to the string without a .LC0 label")
	}
	res, err := Diff(orig, patched, Options{Object: "label.o", EntrySizes: map[string]int{"__bug_table": 8}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Changed {
		t.Fatalf("verdict %s, want changed: %v", res.Verdict, res.Lines())
	}
	for _, y := range res.Patch.Symbols {
		if y.Section == nil && strings.HasPrefix(y.Name, ".L") {
			t.Errorf("patch object refers to assembler label %s in the running kernel, which lists no such symbol", y.Name)
		}
	}
	if res.Patch.Section("__bug_table") == nil {
		t.Error("patch object lacks the function's __bug_table entry")
	}
}
