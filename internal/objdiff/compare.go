package objdiff

import (
	"bytes"
	"debug/elf"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"

	"github.com/keepup/keepup/internal/elfobj"
)

// refKey describes the target of a relocation in terms that are equal in
// both builds when the target is the same: a symbol's correlation key and
// offset, a string literal's text, or an anonymous section's name and
// contents.
func (o *object) refKey(rel elfobj.Reloc) string {
	target, off := o.resolve(rel)
	if target == nil {
		return "none"
	}
	if target.Type != elf.STT_SECTION {
		k := o.key[target]
		if k == "" {
			k = target.Name
		}
		return fmt.Sprintf("sym:%s%+d", k, off)
	}
	s := target.Section
	if s == nil {
		return "sec:?"
	}
	if isStringSection(s) {
		return fmt.Sprintf("str:%q%+d", stringAt(s, rel.Addend+int64(pcBias(rel.Type))), pcBias(rel.Type))
	}
	return fmt.Sprintf("sec:%s%+d#%x", normalizeSection(s.Name), off, contentHash(s))
}

func isStringSection(s *elfobj.Section) bool {
	return s.Flags&elf.SHF_STRINGS != 0 && s.Flags&elf.SHF_MERGE != 0
}

func contentHash(s *elfobj.Section) uint64 {
	h := fnv.New64a()
	h.Write(s.Data)
	return h.Sum64()
}

// numberInName matches compiler-chosen numbers in section names of static
// locals, such as ".bss.counter.1234".
var numberInName = regexp.MustCompile(`\.[0-9]+$`)

func normalizeSection(name string) string {
	return numberInName.ReplaceAllString(cloneSuffix.ReplaceAllString(name, ".$1.N"), ".N")
}

// relocsIn returns the relocations that apply inside symbol y.
func (o *object) relocsIn(y *elfobj.Symbol) []elfobj.Reloc {
	rs := o.relocs[y.Section]
	if rs == nil {
		return nil
	}
	var out []elfobj.Reloc
	for _, rel := range rs.Relocs {
		if rel.Offset >= y.Value && rel.Offset < y.Value+max(y.Size, 1) {
			out = append(out, rel)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out
}

// sameSymbol reports whether a symbol of the original build and its
// correlated symbol of the patched build have the same contents and refer
// to the same things.
func sameSymbol(orig *object, a *elfobj.Symbol, patched *object, b *elfobj.Symbol) bool {
	if a.Size != b.Size || a.Section.Type != b.Section.Type {
		return false
	}
	if !bytes.Equal(symbolBytes(a), symbolBytes(b)) {
		return false
	}
	ra, rb := orig.relocsIn(a), patched.relocsIn(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if ra[i].Offset-a.Value != rb[i].Offset-b.Value || ra[i].Type != rb[i].Type {
			return false
		}
		if orig.refKey(ra[i]) != patched.refKey(rb[i]) {
			return false
		}
	}
	return true
}
