package kbuild

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const gitDiff = `From 1234 Mon Sep 17 00:00:00 2001
Subject: [PATCH] proc: change cmdline

--- a/README is mentioned in this message
---
 fs/proc/cmdline.c | 2 +-

diff --git a/fs/proc/cmdline.c b/fs/proc/cmdline.c
index 0000000..1111111 100644
--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -7,7 +7,7 @@
 static int cmdline_proc_show(struct seq_file *m, void *v)
 {
 	seq_puts(m, saved_command_line);
-	seq_putc(m, '\n');
+	seq_puts(m, " patched\n");
 	return 0;
 }
 
@@ -20 +20,2 @@ static int __init proc_cmdline_init(void)
 	return 0;
+	/* added */
`

func TestParseDiffGit(t *testing.T) {
	d, err := ParseDiff([]byte(gitDiff))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Paths(); !slices.Equal(got, []string{"fs/proc/cmdline.c"}) {
		t.Fatalf("Paths() = %v", got)
	}
	f := d.Files[0]
	if f.OldName != "a/fs/proc/cmdline.c" || f.NewName != "b/fs/proc/cmdline.c" {
		t.Errorf("names = %q, %q", f.OldName, f.NewName)
	}
	if len(f.Hunks) != 2 {
		t.Fatalf("got %d hunks, want 2", len(f.Hunks))
	}
	h := f.Hunks[0]
	if h.OldStart != 7 || h.OldLines != 7 || h.NewStart != 7 || h.NewLines != 7 {
		t.Errorf("hunk 0 range = %+v", h)
	}
	if len(h.Lines) != 8 {
		t.Errorf("hunk 0 has %d lines, want 8", len(h.Lines))
	}
	if h.Lines[7] != " " {
		t.Errorf("empty context line = %q, want a single space", h.Lines[7])
	}
	h = f.Hunks[1]
	if h.OldStart != 20 || h.OldLines != 1 || h.NewLines != 2 || h.Section != " static int __init proc_cmdline_init(void)" {
		t.Errorf("hunk 1 = %+v", h)
	}
}

func TestParseDiffPlain(t *testing.T) {
	diff := "--- linux-6.1.orig/kernel/sys.c\t2024-01-01 00:00:00.000000000 +0000\n" +
		"+++ linux-6.1/kernel/sys.c\t2024-01-02 00:00:00.000000000 +0000\n" +
		"@@ -1,2 +1,2 @@\n-a\n+b\n c\n" +
		"--- linux-6.1.orig/mm/memory.c\n+++ linux-6.1/mm/memory.c\n@@ -3 +3 @@\n-x\n+y\n"
	d, err := ParseDiff([]byte(diff))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Paths(); !slices.Equal(got, []string{"kernel/sys.c", "mm/memory.c"}) {
		t.Errorf("Paths() = %v", got)
	}
	if d.Files[0].OldName != "linux-6.1.orig/kernel/sys.c" {
		t.Errorf("OldName = %q, want the date dropped", d.Files[0].OldName)
	}
}

func TestParseDiffNoNewlineMarker(t *testing.T) {
	diff := "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n"
	d, err := ParseDiff([]byte(diff))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Files[0].Hunks[0].Lines); n != 4 {
		t.Errorf("hunk has %d lines, want 4", n)
	}
}

func TestParseDiffErrors(t *testing.T) {
	cases := map[string]string{
		"empty":          "",
		"no diff":        "just a commit message\n",
		"bad header":     "--- a/x.c\n+++ b/x.c\n@@ -1,x +1 @@\n-a\n+b\n",
		"short hunk":     "--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n-a\n+b\n",
		"bad line":       "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n-a\n*b\n",
		"no hunks":       "--- a/x.c\n+++ b/x.c\n",
		"too many lines": "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n-b\n+c\n",
	}
	for name, diff := range cases {
		if _, err := ParseDiff([]byte(diff)); err == nil {
			t.Errorf("%s: ParseDiff succeeded", name)
		}
	}
}

func TestParseDiffRejectsBinary(t *testing.T) {
	diff := "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nBinary files a/x.bin and b/x.bin differ\n"
	_, err := ParseDiff([]byte(diff))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("error = %v, want ErrUnsupported", err)
	}
}

func TestCheckFiles(t *testing.T) {
	src := t.TempDir()
	for _, p := range []string{"fs/proc/cmdline.c", "fs/proc/internal.h", "arch/x86/entry/entry_64.S", "fs/proc/Makefile"} {
		full := filepath.Join(src, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "outside.c")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(src, "fs/proc/link.c")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		old, new string
		want     string // substring of the error, or "" for success
	}{
		{"a/fs/proc/cmdline.c", "b/fs/proc/cmdline.c", ""},
		{"a/fs/proc/internal.h", "b/fs/proc/internal.h", "header"},
		{"a/arch/x86/entry/entry_64.S", "b/arch/x86/entry/entry_64.S", "assembly"},
		{"a/fs/proc/Makefile", "b/fs/proc/Makefile", "only C source files"},
		{"a/../etc/x.c", "b/../etc/x.c", "not a clean path"},
		{"a//etc/x.c", "b//etc/x.c", "not a path inside"},
		{"a/fs/proc/link.c", "b/fs/proc/link.c", "outside the kernel source"},
		{"/dev/null", "b/fs/proc/new.c", "new files"},
		{"a/fs/proc/cmdline.c", "/dev/null", "deleted files"},
		{"a/fs/proc/old.c", "b/fs/proc/cmdline.c", "renamed"},
	}
	for _, c := range cases {
		d := &Diff{Files: []FileDiff{{OldName: c.old, NewName: c.new, Path: treePath(c.old, c.new)}}}
		err := CheckFiles(d, src)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.new, err)
			}
			continue
		}
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s -> %s: error %v is not ErrUnsupported", c.old, c.new, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), supportedChanges) {
			t.Errorf("%s -> %s: error %q does not say %q and what is supported", c.old, c.new, err, c.want)
		}
	}
}

func TestCheckFilesMissingFile(t *testing.T) {
	src := t.TempDir()
	d := &Diff{Files: []FileDiff{{OldName: "a/fs/proc/missing.c", NewName: "b/fs/proc/missing.c", Path: "fs/proc/missing.c"}}}
	err := CheckFiles(d, src)
	if err == nil {
		t.Fatal("no error for a file missing from the source")
	}
	if errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v matches ErrUnsupported, but a wrong path is bad input, not an unsafe change", err)
	}
	if !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "a/ and b/") {
		t.Errorf("error %q does not say the file is missing and how paths must look", err)
	}
}

func TestApplyHunks(t *testing.T) {
	original := "one\ntwo\nthree\nfour\nfive\n"
	f := FileDiff{Path: "x.c", Hunks: []Hunk{
		{OldStart: 2, OldLines: 2, NewStart: 2, NewLines: 2, Lines: []string{" two", "-three", "+THREE"}},
		{OldStart: 5, OldLines: 0, NewStart: 6, NewLines: 1, Lines: []string{"+six"}},
	}}
	f.Hunks[0].OldLines, f.Hunks[0].NewLines = 2, 2
	got, _, err := ApplyHunks(f, []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	if want := "one\ntwo\nTHREE\nfour\nfive\nsix\n"; string(got) != want {
		t.Errorf("ApplyHunks = %q, want %q", got, want)
	}
}

func TestApplyHunksOffset(t *testing.T) {
	original := "extra\nextra\none\ntwo\nthree\n"
	f := FileDiff{Path: "x.c", Hunks: []Hunk{
		{OldStart: 1, OldLines: 2, NewStart: 1, NewLines: 2, Lines: []string{" one", "-two", "+TWO"}},
	}}
	got, _, err := ApplyHunks(f, []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	if want := "extra\nextra\none\nTWO\nthree\n"; string(got) != want {
		t.Errorf("ApplyHunks = %q, want %q", got, want)
	}
}

func TestApplyHunksLineMap(t *testing.T) {
	// Line 2 is rewritten, two lines go in after line 4 and line 6 goes.
	// The headers are one line off, as for a diff made against a file
	// with one line less at the top.
	original := "1\n2\n3\n4\n5\n6\n7\n"
	f := FileDiff{Path: "x.c", Hunks: []Hunk{
		{OldStart: 1, OldLines: 2, NewStart: 1, NewLines: 2, Lines: []string{"-2", "+two", " 3"}},
		{OldStart: 3, OldLines: 0, NewStart: 4, NewLines: 2, Lines: []string{"+a", "+b"}},
		{OldStart: 4, OldLines: 3, NewStart: 6, NewLines: 2, Lines: []string{" 5", "-6", " 7"}},
	}}
	got, m, err := ApplyHunks(f, []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	if want := "1\ntwo\n3\n4\na\nb\n5\n7\n"; string(got) != want {
		t.Fatalf("ApplyHunks = %q, want %q", got, want)
	}
	want := map[int]int{1: 1, 2: 0, 3: 3, 4: 4, 5: 7, 6: 0, 7: 8, 8: 0, 0: 0}
	for old, line := range want {
		moved, ok := m.Moved(old)
		if ok != (line != 0) || moved != line {
			t.Errorf("Moved(%d) = %d, %v; want %d, %v", old, moved, ok, line, line != 0)
		}
	}
}

func TestApplyHunksNoNewline(t *testing.T) {
	f := FileDiff{Path: "x.c", Hunks: []Hunk{
		{OldStart: 1, OldLines: 1, NewStart: 1, NewLines: 1, Lines: []string{"-old", `\ No newline at end of file`, "+new"}},
	}}
	got, _, err := ApplyHunks(f, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new\n" {
		t.Errorf("ApplyHunks = %q, want %q", got, "new\n")
	}
}

func TestApplyHunksMismatch(t *testing.T) {
	f := FileDiff{Path: "fs/proc/cmdline.c", Hunks: []Hunk{
		{OldStart: 1, OldLines: 1, NewStart: 1, NewLines: 1, Lines: []string{"-not there", "+new"}},
	}}
	_, _, err := ApplyHunks(f, []byte("one\ntwo\n"))
	var he *HunkError
	if !errors.As(err, &he) {
		t.Fatalf("error = %v, want a HunkError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "fs/proc/cmdline.c") || !strings.Contains(msg, "-not there") || !strings.Contains(msg, "@@ -1,1 +1,1 @@") {
		t.Errorf("error %q does not show the file and the hunk", msg)
	}
}

func TestApplyParsedDiff(t *testing.T) {
	d, err := ParseDiff([]byte(gitDiff))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 1; i <= 21; i++ {
		lines = append(lines, "line")
	}
	copy(lines[6:], []string{
		"static int cmdline_proc_show(struct seq_file *m, void *v)",
		"{",
		"\tseq_puts(m, saved_command_line);",
		"\tseq_putc(m, '\\n');",
		"\treturn 0;",
		"}",
		"",
	})
	lines[19] = "\treturn 0;"
	got, _, err := ApplyHunks(d.Files[0], []byte(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "seq_puts(m, \" patched\\n\");") || !strings.Contains(string(got), "\treturn 0;\n\t/* added */\n") {
		t.Errorf("patched text:\n%s", got)
	}
}

func FuzzParseDiff(f *testing.F) {
	f.Add([]byte(gitDiff))
	f.Add([]byte("--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDiff(data)
		if err != nil {
			return
		}
		for _, file := range d.Files {
			for _, h := range file.Hunks {
				hunkBody(h)
			}
		}
	})
}

func TestWithoutDocumentation(t *testing.T) {
	d := &Diff{Files: []FileDiff{
		{Path: "fs/proc/cmdline.c"},
		{Path: "Documentation/filesystems/proc.rst"},
		{Path: "tools/README.txt"},
	}}
	kept, docs := d.WithoutDocumentation()
	if got := kept.Paths(); len(got) != 1 || got[0] != "fs/proc/cmdline.c" {
		t.Errorf("kept %v, want only fs/proc/cmdline.c", got)
	}
	if len(docs) != 2 || docs[0] != "Documentation/filesystems/proc.rst" || docs[1] != "tools/README.txt" {
		t.Errorf("documentation %v, want the .rst and .txt files", docs)
	}
}
