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
	pairs := [][2]string{{"specials.a", "specials.b"}}
	for _, c := range fixtureCases {
		pairs = append(pairs, [2]string{c.orig, c.patched})
	}
	for _, pair := range pairs {
		orig, err := os.ReadFile(filepath.Join("testdata", pair[0]+".o"))
		if err != nil {
			f.Fatal(err)
		}
		patched, err := os.ReadFile(filepath.Join("testdata", pair[1]+".o"))
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
		res, err := Diff(orig, patched, Options{EntrySizes: linuxEntrySizes})
		if err != nil {
			return
		}
		res.Lines()
		if res.Patch != nil {
			res.Patch.Bytes()
		}
	})
}
