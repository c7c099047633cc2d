package kbuild

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepup/keepup/internal/target"
	"github.com/keepup/keepup/internal/target/targettest"
)

// lineDiff returns a diff replacing the first line of path in the kernel
// source that contains old with that line's text with old replaced by new.
func lineDiff(t *testing.T, k *target.Kernel, path, old, new string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k.SourceDir, path))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, old) {
			changed := strings.Replace(line, old, new, 1)
			return []byte(fmt.Sprintf("--- a/%s\n+++ b/%s\n@@ -%d +%d @@\n-%s\n+%s\n", path, path, i+1, i+1, line, changed))
		}
	}
	t.Fatalf("%s: no line contains %q", path, old)
	return nil
}

// treeState records the name, size, mode and modification time of every
// file under dir.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		state[p] = fmt.Sprintf("%d %v %d", info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func compareTreeState(t *testing.T, dir string, before, after map[string]string) {
	t.Helper()
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s changed: %q, now %q", p, s, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: new file %s", dir, p)
		}
	}
}

func compile(t *testing.T, k *target.Kernel, diff []byte) ([]Pair, error) {
	t.Helper()
	opts := Options{WorkDir: t.TempDir(), Progress: func(msg string) { t.Log(msg) }}
	return Compile(context.Background(), k, diff, opts)
}

func TestCompileCommentOnly(t *testing.T) {
	k := targettest.Kernel(t)
	sourceBefore, buildBefore := treeState(t, k.SourceDir), treeState(t, k.BuildDir)
	diff := lineDiff(t, k, "fs/proc/cmdline.c", "seq_putc(m, '\\n');", "seq_putc(m, '\\n'); /* comment */")

	start := time.Now()
	pairs, err := compile(t, k, diff)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compiled one pair in %v", time.Since(start))

	if len(pairs) != 1 {
		t.Fatalf("got %d pairs, want 1", len(pairs))
	}
	p := pairs[0]
	if p.Source != "fs/proc/cmdline.c" {
		t.Errorf("Source = %q", p.Source)
	}
	for _, obj := range []string{p.Orig, p.Patched} {
		if !filepath.IsAbs(obj) {
			t.Errorf("object path %q is not absolute", obj)
		}
		if !slices.Contains(sectionNames(t, obj), ".text.cmdline_proc_show") {
			t.Errorf("%s has no section .text.cmdline_proc_show, so it was not built with -ffunction-sections", obj)
		}
		if !slices.Contains(sectionNames(t, obj), ".orc_unwind") {
			t.Errorf("%s has no .orc_unwind section, so objtool did not run", obj)
		}
	}
	for _, flag := range []string{"-ffunction-sections", "-fdata-sections", "objtool", "-c -o fs/proc/cmdline.o fs/proc/cmdline.c"} {
		if !strings.Contains(p.Command, flag) {
			t.Errorf("Command does not contain %q: %s", flag, p.Command)
		}
	}
	compareTreeState(t, k.SourceDir, sourceBefore, treeState(t, k.SourceDir))
	compareTreeState(t, k.BuildDir, buildBefore, treeState(t, k.BuildDir))
}

func sectionNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	for _, s := range f.Sections {
		names = append(names, s.Name)
	}
	return names
}

// allocatedStrings returns the strings in the allocated string sections of
// an object, where __FILE__ and other string literals end up.
func allocatedStrings(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []string
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_STRINGS == 0 || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			t.Fatal(err)
		}
		for _, str := range bytes.Split(data, []byte{0}) {
			all = append(all, string(str))
		}
	}
	slices.Sort(all)
	return all
}

func TestCompileFileMacroIdentical(t *testing.T) {
	k := targettest.Kernel(t)
	diff := lineDiff(t, k, "fs/proc/generic.c", `WARN(1, "name len %u\n", qstr.len);`, `WARN(1, "name len %u\n", qstr.len); /* same */`)
	pairs, err := compile(t, k, diff)
	if err != nil {
		t.Fatal(err)
	}
	orig, patched := allocatedStrings(t, pairs[0].Orig), allocatedStrings(t, pairs[0].Patched)
	if !slices.Contains(orig, "fs/proc/generic.c") {
		t.Errorf("original object has no string \"fs/proc/generic.c\" from WARN's __FILE__: %q", orig)
	}
	if !slices.Equal(orig, patched) {
		t.Errorf("string literals differ:\noriginal: %q\npatched:  %q", orig, patched)
	}
}

func TestCompileConcurrent(t *testing.T) {
	k := targettest.Kernel(t)
	diffs := [][]byte{
		lineDiff(t, k, "fs/proc/cmdline.c", "seq_putc(m, '\\n');", "seq_puts(m, \" one\\n\");"),
		lineDiff(t, k, "fs/proc/cmdline.c", "seq_putc(m, '\\n');", "seq_puts(m, \" two\\n\");"),
	}
	var wg sync.WaitGroup
	errs := make([]error, len(diffs))
	pairs := make([][]Pair, len(diffs))
	for i, diff := range diffs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pairs[i], errs[i] = compile(t, k, diff)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("compile %d: %v", i, err)
		}
	}
	for i, want := range []string{" one\n", " two\n"} {
		if len(pairs[i]) == 1 && !slices.Contains(allocatedStrings(t, pairs[i][0].Patched), want) {
			t.Errorf("compile %d: patched object has no string %q", i, want)
		}
	}
}

func TestCompileSyntaxError(t *testing.T) {
	k := targettest.Kernel(t)
	diff := lineDiff(t, k, "fs/proc/cmdline.c", "seq_putc(m, '\\n');", "seq_putc(m, '\\n') no_such_symbol;")
	_, err := compile(t, k, diff)
	if err == nil {
		t.Fatal("compile succeeded")
	}
	if errors.Is(err, ErrUnsupported) {
		t.Errorf("compile error %v matches ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "error:") || !strings.Contains(err.Error(), "no_such_symbol") {
		t.Errorf("error does not include the compiler's output: %v", err)
	}
}

func TestCompileRejects(t *testing.T) {
	k := targettest.Kernel(t)
	cases := []struct {
		name string
		diff []byte
		want string
	}{
		{"module", lineDiff(t, k, "fs/xfs/xfs_icache.c", "#include", "#include /* x */"), "module xfs"},
		{"not built", lineDiff(t, k, "kernel/kcov.c", "#include", "#include /* x */"), "not compiled into vmlinux"},
		{"included", lineDiff(t, k, "kernel/sched/rt.c", "int sched_rr_timeslice", "int sched_rr_timeslice /* x */"), "only #included by another .c file"},
		{"header", lineDiff(t, k, "fs/proc/internal.h", "#include", "#include /* x */"), "header"},
		{"outside", []byte("--- a/../../etc/passwd.c\n+++ b/../../etc/passwd.c\n@@ -1 +1 @@\n-a\n+b\n"), "not a clean path"},
		{"makefile", lineDiff(t, k, "fs/proc/Makefile", "obj-y", "obj-y "), "only C source files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := compile(t, k, c.diff)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error = %v, want ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestCompileHunkMismatch(t *testing.T) {
	k := targettest.Kernel(t)
	diff := []byte("--- a/fs/proc/cmdline.c\n+++ b/fs/proc/cmdline.c\n@@ -10 +10 @@\n-\tseq_putc(m, 'x');\n+\tseq_putc(m, 'y');\n")
	_, err := compile(t, k, diff)
	var he *HunkError
	if !errors.As(err, &he) {
		t.Fatalf("error = %v, want a HunkError", err)
	}
	if he.File != "fs/proc/cmdline.c" {
		t.Errorf("HunkError.File = %q", he.File)
	}
}

func TestEntrySizesFromKernel(t *testing.T) {
	k := targettest.Kernel(t)
	sizes, err := EntrySizes(context.Background(), k, Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// The sizes Debian's 6.1 x86-64 build gives these structures, as
	// pahole reads them from its debug information.
	want := map[string]int{
		"__bug_table": 12, "__ex_table": 12, ".altinstructions": 12, "__jump_table": 16,
		".orc_unwind": 6, ".static_call_sites": 8, ".parainstructions": 16,
	}
	for name, n := range want {
		if sizes[name] != n {
			t.Errorf("entry size of %s = %d, want %d", name, sizes[name], n)
		}
	}
}
