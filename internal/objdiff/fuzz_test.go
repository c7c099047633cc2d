package objdiff

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// FuzzDiff feeds the differ object pairs parsed from mutated fixtures: it
// must return a result or an error, never panic or hang.
func FuzzDiff(f *testing.F) {
	for _, c := range fixtureCases {
		orig, err := os.ReadFile(filepath.Join("testdata", c.orig+".o"))
		if err != nil {
			f.Fatal(err)
		}
		patched, err := os.ReadFile(filepath.Join("testdata", c.patched+".o"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(orig, patched)
	}
	f.Fuzz(func(t *testing.T, origData, patchedData []byte) {
		orig, err := elfobj.Parse("orig.o", origData)
		if err != nil {
			return
		}
		patched, err := elfobj.Parse("patched.o", patchedData)
		if err != nil {
			return
		}
		res, err := Diff(orig, patched, Options{})
		if err != nil {
			return
		}
		res.Lines()
		if res.Patch != nil {
			res.Patch.Bytes()
		}
	})
}
