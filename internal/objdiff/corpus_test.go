package objdiff

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

// corpusDir holds object pairs from kpatch's unit-test corpus with the
// verdicts of kpatch's create-diff-object 0.9.11.
const corpusDir = "../../../shared/peer-objs/x86_64"

// corpusSizes are the special-section entry sizes of the older kernels the
// corpus was built from.
var corpusSizes = map[string]int{
	"__bug_table":        12,
	"__ex_table":         12,
	".altinstructions":   13,
	"__jump_table":       24,
	".orc_unwind":        6,
	".static_call_sites": 8,
	".printk_index":      44,
	".parainstructions":  16,
}

// sizeOverrides correct the corpus's listed sizes where an object's own
// relocations show other entries: the peer's harness passed these objects
// sizes that do not fit them, and keepup rejects a size that does not fit.
var sizeOverrides = map[string]map[string]int{
	// Their relocations repeat every 12 bytes in .altinstructions, as in
	// kernels whose alt_instr lost the padlen field, and every 16 bytes in
	// __jump_table, as with relative jump_entry records.
	"ASSERT_RTNL-detect":        {".altinstructions": 12, "__jump_table": 16},
	"printk-index-1-issue-1206": {".altinstructions": 12, "__jump_table": 16},
	"clang-lstr":                {"__jump_table": 16},
}

type corpusCase struct {
	name, patched, expect string
	functions             []string
	env                   map[string]string
}

func readCorpus(t *testing.T) []corpusCase {
	f, err := os.Open(filepath.Join(corpusDir, "expected.tsv"))
	if err != nil {
		t.Skipf("no peer corpus: %v", err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		for len(cols) < 5 {
			cols = append(cols, "")
		}
		c := corpusCase{name: cols[0], patched: cols[1], expect: cols[2], env: map[string]string{}}
		if cols[3] != "" {
			c.functions = strings.Split(cols[3], ",")
		}
		for _, kv := range strings.Fields(cols[4]) {
			k, v, _ := strings.Cut(kv, "=")
			c.env[k] = v
		}
		cases = append(cases, c)
	}
	return cases
}

func (c corpusCase) sizes(t *testing.T) map[string]int {
	sizes := map[string]int{}
	for k, v := range corpusSizes {
		sizes[k] = v
	}
	if v, ok := c.env["JUMP_STRUCT_SIZE"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: JUMP_STRUCT_SIZE %q: %v", c.name, v, err)
		}
		sizes["__jump_table"] = n
	}
	for k, v := range sizeOverrides[c.name] {
		sizes[k] = v
	}
	return sizes
}

// verdictNames maps the corpus's verdict words to ours.
var verdictNames = map[string]Verdict{"changed": Changed, "no-change": NoChange, "refuse": Rejected}

func TestPeerCorpus(t *testing.T) {
	for _, c := range readCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			orig, err := elfobj.Open(filepath.Join(corpusDir, c.name+".ORIG.o"))
			if err != nil {
				t.Fatal(err)
			}
			patched, err := elfobj.Open(filepath.Join(corpusDir, c.patched))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Diff(orig, patched, Options{Object: c.name, EntrySizes: c.sizes(t)})
			if err != nil {
				t.Fatalf("diff: %v", err)
			}
			if want := verdictNames[c.expect]; res.Verdict != want {
				t.Errorf("verdict %s, want %s\n%s", res.Verdict, want, strings.Join(res.Lines(), "\n"))
			}
			var got []string
			for _, f := range res.Functions {
				got = append(got, string(f.Kind)+":"+f.Name)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.functions))
			if c.expect == "changed" && !slices.Equal(got, want) {
				t.Errorf("functions %v, want %v", got, want)
			}
			if res.Patch != nil {
				if _, err := res.Patch.Bytes(); err != nil {
					t.Errorf("write patch object: %v", err)
				}
			}
		})
	}
}
