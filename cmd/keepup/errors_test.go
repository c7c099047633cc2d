package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/target/targettest"
)

// writePatch writes a diff into a new directory and returns its path.
func writePatch(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.patch")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func buildPatchFile(t *testing.T, patch string) (string, string, string, int) {
	t.Helper()
	k := targettest.Kernel(t)
	dir := t.TempDir()
	args := append([]string{"build", "--kernel", k.Release}, cacheArgs()...)
	stdout, stderr, status := runKeepup(t, dir, append(args, patch)...)
	return dir, stdout, stderr, status
}

func TestBuildUnknownRelease(t *testing.T) {
	k := targettest.Kernel(t)
	dir := t.TempDir()
	patch := examplePath(t, "cmdline", "cmdline.patch")
	args := append([]string{"build", "--kernel", "6.1.0-999-amd64"}, cacheArgs()...)
	_, stderr, status := runKeepup(t, dir, append(args, patch)...)
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "6.1.0-999-amd64") {
		t.Errorf("error does not name the release:\n%s", stderr)
	}
	if !strings.Contains(stderr, k.Release) {
		t.Errorf("error does not list the releases apt has, such as %s:\n%s", k.Release, stderr)
	}
	assertEmptyDir(t, dir)
}

func TestBuildHunkDoesNotApply(t *testing.T) {
	patch := writePatch(t, `--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -6,6 +6,7 @@
 
 static int cmdline_proc_show(struct seq_file *m, void *v)
 {
+	seq_puts(m, "x");
 	seq_puts(m, no_such_line_in_this_file);
 	seq_putc(m, '\n');
 	return 0;
`)
	dir, _, stderr, status := buildPatchFile(t, patch)
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "fs/proc/cmdline.c") || !strings.Contains(stderr, "no_such_line_in_this_file") {
		t.Errorf("error does not show the file and the hunk:\n%s", stderr)
	}
	assertEmptyDir(t, dir)
}

func TestBuildCompileError(t *testing.T) {
	patch := writePatch(t, `--- a/fs/proc/cmdline.c
+++ b/fs/proc/cmdline.c
@@ -6,6 +6,7 @@
 
 static int cmdline_proc_show(struct seq_file *m, void *v)
 {
+	this_is_not_c(;
 	seq_puts(m, saved_command_line);
 	seq_putc(m, '\n');
 	return 0;
`)
	dir, _, stderr, status := buildPatchFile(t, patch)
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "error:") || !strings.Contains(stderr, "this_is_not_c") {
		t.Errorf("error does not show the compiler's message:\n%s", stderr)
	}
	assertEmptyDir(t, dir)
}

func TestBuildHeaderRejected(t *testing.T) {
	patch := writePatch(t, `--- a/include/linux/seq_file.h
+++ b/include/linux/seq_file.h
@@ -1,3 +1,4 @@
 /* SPDX-License-Identifier: GPL-2.0 */
+/* changed */
 #ifndef _LINUX_SEQ_FILE_H
 #define _LINUX_SEQ_FILE_H
`)
	dir, _, stderr, status := buildPatchFile(t, patch)
	if status != exitRejected {
		t.Fatalf("exit status %d, want %d\n%s", status, exitRejected, stderr)
	}
	if !strings.Contains(stderr, "include/linux/seq_file.h") {
		t.Errorf("error does not name the header:\n%s", stderr)
	}
	assertEmptyDir(t, dir)
}

func TestBuildMissingDiff(t *testing.T) {
	dir := t.TempDir()
	_, stderr, status := runKeepup(t, dir, "build", "--kernel", "6.1.0-57-amd64", filepath.Join(dir, "missing.patch"))
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "missing.patch") {
		t.Errorf("error does not name the file:\n%s", stderr)
	}
}

func TestBuildUsage(t *testing.T) {
	_, stderr, status := runKeepup(t, t.TempDir(), "build")
	if status != exitError {
		t.Fatalf("exit status %d, want %d", status, exitError)
	}
	if !strings.Contains(stderr, "--kernel") {
		t.Errorf("usage does not explain --kernel:\n%s", stderr)
	}
}

func TestBuildOutputChecked(t *testing.T) {
	dir := t.TempDir()
	patch := examplePath(t, "cmdline", "cmdline.patch")
	for _, c := range []struct{ output, want string }{
		{filepath.Join(dir, "no-such-dir", "x.ko"), "does not exist"},
		{dir, "is a directory"},
	} {
		_, stderr, status := runKeepup(t, dir, "build", "--kernel", "6.1.0-57-amd64", "-o", c.output, patch)
		if status != exitError {
			t.Errorf("-o %s: exit status %d, want %d", c.output, status, exitError)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("-o %s: error does not say %q:\n%s", c.output, c.want, stderr)
		}
	}
}

func TestBuildNameWithoutLetters(t *testing.T) {
	dir := t.TempDir()
	_, stderr, status := runKeepup(t, dir, "build", "--kernel", "6.1.0-57-amd64", "--name", "---", examplePath(t, "cmdline", "cmdline.patch"))
	if status != exitError || !strings.Contains(stderr, "--name") {
		t.Errorf("exit status %d, stderr:\n%s", status, stderr)
	}
	assertEmptyDir(t, dir)
}
