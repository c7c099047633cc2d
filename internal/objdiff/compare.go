package objdiff

import (
	"bytes"
	"debug/elf"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// refKey describes the target of a relocation in terms that are equal in
// both builds when the target is the same: a symbol's correlation key and
// offset, a string literal's text, or an anonymous section's name and
// contents.
func (o *object) refKey(rel elfobj.Reloc) string {
	return o.refKeyDepth(rel, 0)
}

// refKeyDepth is refKey for a relocation found depth steps inside the
// contents of per-site statics. Only the first step compares a static's
// contents, so that statics that point at each other end the walk.
func (o *object) refKeyDepth(rel elfobj.Reloc, depth int) string {
	target, off := o.resolve(rel)
	if target == nil {
		return "none"
	}
	s := target.Section
	switch {
	case s != nil && isStringSection(s):
		// Literals compare by text, whether the relocation names the
		// section or a local label in it such as clang's ".L.str.3".
		at := int64(target.Value) + off + int64(pcBias(rel.Type))
		return fmt.Sprintf("str:%q%+d", withoutSourceLines(stringAt(s, at)), pcBias(rel.Type))
	case s != nil && isAssemblerLabel(target):
		// Labels such as ".LC2" are numbered by the compiler, so they
		// compare by the data they name.
		return fmt.Sprintf("label:%s%+d#%x", normalizeSection(s.Name), off, o.labelHash(target))
	case isPerSiteStatic(target) && target.Section != nil && depth == 0:
		return fmt.Sprintf("site:%s%+d#%x", o.key[target], off, o.siteHash(target))
	case target.Type != elf.STT_SECTION:
		k := o.key[target]
		if k == "" {
			k = target.Name
		}
		return fmt.Sprintf("sym:%s%+d", k, off)
	case s == nil:
		return "sec:?"
	case isAltinstrAux(s):
		return "sec:.altinstr_aux"
	case isUbsanData(s):
		return fmt.Sprintf("ubsan%+d#%x", off, ubsanHash(s))
	}
	return fmt.Sprintf("sec:%s%+d#%x", normalizeSection(s.Name), off, contentHash(s))
}

// isAltinstrAux reports whether s is .altinstr_aux, the code that
// static_cpu_has() runs before alternatives are applied. The module loader
// applies a patch module's alternatives before any of its code runs, so
// where a function jumps into .altinstr_aux does not matter.
func isAltinstrAux(s *elfobj.Section) bool { return s.Name == ".altinstr_aux" }

// isUbsanData reports whether s holds one UBSAN check's data, which starts
// with the source location the sanitizer prints.
func isUbsanData(s *elfobj.Section) bool { return strings.HasPrefix(s.Name, ".data..Lubsan_data") }

// ubsanSourceLine and ubsanSourceEnd bound the line and column of the
// source location in UBSAN data: two 32-bit words after the file name
// pointer.
const ubsanSourceLine, ubsanSourceEnd = 8, 16

// ubsanHash hashes UBSAN data without its line and column, so that a check
// that only moved in the file compares equal.
func ubsanHash(s *elfobj.Section) uint64 {
	data := bytes.Clone(s.Data)
	if len(data) >= ubsanSourceEnd {
		clear(data[ubsanSourceLine:ubsanSourceEnd])
	}
	return hashBytes(data)
}

func isStringSection(s *elfobj.Section) bool {
	return s.Flags&elf.SHF_STRINGS != 0 && s.Flags&elf.SHF_MERGE != 0
}

func contentHash(s *elfobj.Section) uint64 { return hashBytes(s.Data) }

func hashBytes(data []byte) uint64 {
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64()
}

// numberInName matches compiler-chosen numbers in section names of static
// locals, such as ".bss.counter.1234".
var numberInName = regexp.MustCompile(`\.[0-9]+$`)

func normalizeSection(name string) string {
	return numberInName.ReplaceAllString(cloneSuffix.ReplaceAllString(name, ".$1.N"), ".N")
}

// relocsIn returns the relocations that apply inside symbol y, by offset.
// The result is cached, and callers must not modify it.
func (o *object) relocsIn(y *elfobj.Symbol) []elfobj.Reloc {
	if out, ok := o.symbolRelocs[y]; ok {
		return out
	}
	var out []elfobj.Reloc
	if rs := o.relocs[y.Section]; rs != nil {
		for _, rel := range rs.Relocs {
			if rel.Offset >= y.Value && rel.Offset-y.Value < max(y.Size, 1) {
				out = append(out, rel)
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	}
	o.symbolRelocs[y] = out
	return out
}

// sameSymbol reports whether a symbol of the original build and its
// correlated symbol of the patched build have the same contents and refer
// to the same things.
func sameSymbol(orig *object, a *elfobj.Symbol, patched *object, b *elfobj.Symbol) bool {
	return sameShape(a, b) && bytes.Equal(symbolBytes(a), symbolBytes(b)) && sameRelocs(orig, a, patched, b)
}

// sameFunction reports whether a function of the original build and its
// correlated function of the patched build do the same: equal but for
// line numbers passed to WARN, printk and might_sleep sites.
func (d *differ) sameFunction(a, b *elfobj.Symbol) bool {
	if !sameShape(a, b) || !sameRelocs(d.orig, a, d.patched, b) {
		return false
	}
	codeA, codeB := symbolBytes(a), symbolBytes(b)
	if bytes.Equal(codeA, codeB) {
		return true
	}
	if isLineNumberOnlyChange(d.patched, b, codeA, codeB, d.opts.MovedLine) {
		d.lineOnly[b] = true
		return true
	}
	return false
}

func sameShape(a, b *elfobj.Symbol) bool {
	return a.Size == b.Size && a.Section.Type == b.Section.Type
}

// sameRelocs reports whether the relocations inside a and b lie at the
// same offsets, have the same types and refer to the same things.
func sameRelocs(orig *object, a *elfobj.Symbol, patched *object, b *elfobj.Symbol) bool {
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

// siteHash hashes a per-site static's bytes, without the source line
// numbers it records, and what its relocations refer to.
func (o *object) siteHash(y *elfobj.Symbol) uint64 {
	h := fnv.New64a()
	h.Write(withoutLineNumbers(y))
	for _, rel := range o.relocsIn(y) {
		fmt.Fprintf(h, "|%d:%d:%s", rel.Offset-y.Value, rel.Type, o.refKeyDepth(rel, 1))
	}
	return h.Sum64()
}

// labelHash hashes the data an assembler label names: from the label to
// the next named symbol of its section, or to the section's end.
func (o *object) labelHash(label *elfobj.Symbol) uint64 {
	s := label.Section
	end := uint64(len(s.Data))
	for _, y := range o.defined[s] {
		if y.Value > label.Value && y.Value < end {
			end = y.Value
		}
	}
	h := fnv.New64a()
	if label.Value <= end {
		h.Write(s.Data[label.Value:end])
	}
	return h.Sum64()
}

// sourceLocation matches a source location that the preprocessor writes
// into a string literal, such as "fs/dcache.c:2930" in a FORTIFY message.
var sourceLocation = regexp.MustCompile(`(\.[ch]):[0-9]+`)

// withoutSourceLines removes the line numbers of source locations from a
// string literal, so that a literal that changed only because code moved
// compares equal.
func withoutSourceLines(s string) string {
	return sourceLocation.ReplaceAllString(s, "$1:N")
}
