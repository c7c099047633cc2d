package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// fixture returns the path of an object pair fixture of the differ, built
// from the C sources beside it.
func fixture(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "internal", "objdiff", "testdata", name+".o"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDiffVerdicts(t *testing.T) {
	cases := []struct {
		name, orig, patched string
		status              int
		stdout              []string // lines stdout must contain, with the object name cut
	}{
		{name: "changed", orig: "lines.a", patched: "constant.b", status: 0, stdout: []string{": changed: other"}},
		{name: "no change", orig: "lines.a", patched: "lines.b", status: exitNoChange, stdout: []string{": no-change"}},
		{name: "rejected", orig: "init.a", patched: "init.b", status: exitRejected, stdout: []string{": rejected: setup: change to __init code"}},
		{
			name: "constant taken for a line", orig: "printk.a", patched: "printk.b", status: exitNoChange,
			stdout: []string{": ignored: limit: only immediates passed where", ": no-change"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, status := runKeepup(t, t.TempDir(), "diff", fixture(t, c.orig), fixture(t, c.patched))
			if status != c.status {
				t.Errorf("exit status %d, want %d\n%s%s", status, c.status, stdout, stderr)
			}
			for _, want := range c.stdout {
				if !strings.Contains(stdout, fixture(t, c.patched)+want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestDiffJSON(t *testing.T) {
	stdout, stderr, status := runKeepup(t, t.TempDir(), "diff", "--json", fixture(t, "newfunc.a"), fixture(t, "newfunc.b"))
	if status != 0 {
		t.Fatalf("exit status %d, want 0\n%s", status, stderr)
	}
	var report struct {
		Verdict   string `json:"verdict"`
		Functions []struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"functions"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if report.Verdict != "changed" {
		t.Errorf("verdict %q, want changed", report.Verdict)
	}
	got := map[string]string{}
	for _, f := range report.Functions {
		got[f.Name] = f.Kind
	}
	if len(got) != 2 || got["open_ops"] != "changed" || got["show_fancy"] != "new" {
		t.Errorf("functions %v, want open_ops changed and show_fancy new", got)
	}
}

func TestDiffBadInput(t *testing.T) {
	a, b := fixture(t, "lines.a"), fixture(t, "lines.b")
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "one object", args: []string{a}, stderr: "diff needs two object files"},
		{name: "missing object", args: []string{a, "missing.o"}, stderr: "missing.o: no such file"},
		{name: "directory", args: []string{a, "."}, stderr: ".: not a regular file"},
		{name: "unknown section", args: []string{"--entry-size", "__bug_tabel=12", a, b}, stderr: `"__bug_tabel" is not a special section`},
		{name: "zero size", args: []string{"--entry-size", "__bug_table=0", a, b}, stderr: "BYTES must be an integer from 1 to 256"},
		{name: "size twice", args: []string{"--entry-size", "__bug_table=12", "--entry-size", "__bug_table=16", a, b}, stderr: "given twice"},
		{name: "unknown option", args: []string{"--bogus", a, b}, stderr: "run 'keepup diff --help' for the options"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, status := runKeepup(t, t.TempDir(), append([]string{"diff"}, c.args...)...)
			if status != exitError {
				t.Errorf("exit status %d, want %d", status, exitError)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, stderr)
			}
			if strings.Count(stderr, "keepup: ") != 1 {
				t.Errorf("stderr has %d error lines, want 1:\n%s", strings.Count(stderr, "keepup: "), stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestDiffHelpToStdout(t *testing.T) {
	stdout, stderr, status := runKeepup(t, t.TempDir(), "diff", "--help")
	if status != 0 {
		t.Errorf("exit status %d, want 0", status)
	}
	if !strings.HasPrefix(stdout, "Usage: keepup diff ") || !strings.Contains(stdout, "-entry-size") {
		t.Errorf("stdout lacks the usage:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing", stderr)
	}
}
