package objdiff

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// benchPair is one object pair with the entry sizes its diff needs.
type benchPair struct {
	name, orig, patched string
	sizes               map[string]int
}

// jumpSizePattern matches the jump_entry size that expected.tsv sets for
// some pairs in its env column.
var jumpSizePattern = regexp.MustCompile(`JUMP_STRUCT_SIZE=([0-9]+)`)

// debian61Sizes are the entry sizes of Debian's 6.1 x86-64 build, which
// keepup build reads from the kernel itself; the benchmark's kernel pairs
// come from that build.
var debian61Sizes = map[string]int{
	"__bug_table": 12, "__ex_table": 12, ".altinstructions": 12, "__jump_table": 16,
	".orc_unwind": 6, ".static_call_sites": 8, ".parainstructions": 16,
}

// readBenchPairs lists the corpus's pairs with the entry sizes that
// TestPeerCorpus passes: corpusSizes, the env column's JUMP_STRUCT_SIZE,
// then sizeOverrides. It returns nil when the corpus is absent.
func readBenchPairs(b *testing.B) []benchPair {
	f, err := os.Open(filepath.Join(corpusDir, "expected.tsv"))
	if err != nil {
		b.Logf("no peer corpus: %v", err)
		return nil
	}
	defer f.Close()

	var pairs []benchPair
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 5 {
			b.Fatalf("expected.tsv: line %q has %d columns, want 5", sc.Text(), len(cols))
		}
		sizes := map[string]int{}
		for k, v := range corpusSizes {
			sizes[k] = v
		}
		if m := jumpSizePattern.FindStringSubmatch(cols[4]); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				b.Fatalf("%s: invalid JUMP_STRUCT_SIZE %q: %v", cols[0], m[1], err)
			}
			sizes["__jump_table"] = n
		}
		for k, v := range sizeOverrides[cols[0]] {
			sizes[k] = v
		}
		pairs = append(pairs, benchPair{
			name:    cols[0],
			orig:    filepath.Join(corpusDir, cols[0]+".ORIG.o"),
			patched: filepath.Join(corpusDir, cols[1]),
			sizes:   sizes,
		})
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("read expected.tsv: %v", err)
	}
	return pairs
}

// readKernelPairs lists the pairs NAME.ORIG.o and NAME.PATCHED.o in the
// folder that KEEPUP_BENCH_PAIRS names, with the entry sizes that keepup
// build uses for Debian's 6.1 kernel. It returns nil when the variable is
// unset.
func readKernelPairs(b *testing.B) []benchPair {
	dir := os.Getenv("KEEPUP_BENCH_PAIRS")
	if dir == "" {
		return nil
	}
	origs, err := filepath.Glob(filepath.Join(dir, "*.ORIG.o"))
	if err != nil {
		b.Fatal(err)
	}
	if len(origs) == 0 {
		b.Fatalf("KEEPUP_BENCH_PAIRS: no *.ORIG.o in %s", dir)
	}
	sizes := debian61Sizes
	var pairs []benchPair
	for _, orig := range origs {
		name := strings.TrimSuffix(filepath.Base(orig), ".ORIG.o")
		patched := filepath.Join(dir, name+".PATCHED.o")
		pairs = append(pairs, benchPair{name: name, orig: orig, patched: patched, sizes: sizes})
	}
	return pairs
}

// diffPair reads both objects of a pair, diffs them and, when there is a
// patch, encodes the patch object, which is the work of one
// create-diff-object run. keepup diff stops before the encoding.
func diffPair(b *testing.B, p benchPair) {
	orig, err := elfobj.Open(p.orig)
	if err != nil {
		b.Fatal(err)
	}
	patched, err := elfobj.Open(p.patched)
	if err != nil {
		b.Fatal(err)
	}
	res, err := Diff(orig, patched, Options{Object: p.name, EntrySizes: p.sizes})
	if err != nil {
		b.Fatalf("%s: diff: %v", p.name, err)
	}
	if res.Patch == nil {
		return
	}
	if _, err := res.Patch.Bytes(); err != nil {
		b.Fatalf("%s: write patch object: %v", p.name, err)
	}
}

// BenchmarkDiff measures reading, diffing and encoding every pair of the
// peer corpus: once over all pairs per operation ("corpus"), then one
// sub-benchmark per pair, then one per pair of KEEPUP_BENCH_PAIRS when it
// is set. It skips when neither is there. The objects come from the page
// cache after the first operation.
func BenchmarkDiff(b *testing.B) {
	pairs := readBenchPairs(b)
	kernelPairs := readKernelPairs(b)
	if len(pairs) == 0 && len(kernelPairs) == 0 {
		b.Skip("no object pairs: the peer corpus is absent and KEEPUP_BENCH_PAIRS is unset")
	}

	if len(pairs) > 0 {
		b.Run("corpus", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range pairs {
					diffPair(b, p)
				}
			}
		})
	}
	for _, p := range append(pairs, kernelPairs...) {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				diffPair(b, p)
			}
		})
	}
}
