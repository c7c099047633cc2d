package objdiff

import (
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
}{
	{name: "line number only", orig: "lines.a", patched: "lines.b", verdict: NoChange},
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
		name: "lock class keys", orig: "keys.a", patched: "keys.b", verdict: Changed,
		functions: []string{"changed:dev_init"},
	},
	{
		name: "pointer to new function", orig: "newfunc.a", patched: "newfunc.b", verdict: Changed,
		functions: []string{"changed:open_ops", "new:show_fancy"},
	},
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
			res, err := Diff(openFixture(t, c.orig), openFixture(t, c.patched), Options{Object: c.patched})
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
			if res.Patch != nil {
				if _, err := res.Patch.Bytes(); err != nil {
					t.Errorf("write patch object: %v", err)
				}
			}
		})
	}
}
