package objdiff

import (
	"debug/elf"
	"sort"

	"github.com/keepup/keepup/internal/elfobj"
)

// replaceSectionReferences rewrites references from code through a
// section symbol, such as ".data.once - 5", to the named symbol they
// reach, with the same address. Where an immediate follows the
// displacement, as in "cmpb $0x0, flag(%rip)", the addend alone does not
// tell which variable is meant, so the instruction's length decides.
func (o *object) replaceSectionReferences() {
	starts := map[*elfobj.Symbol][]uint64{}
	for text, rs := range o.relocs {
		if !hasFlag(text.Flags, elf.SHF_EXECINSTR) {
			continue
		}
		for i := range rs.Relocs {
			o.replaceSectionReference(text, &rs.Relocs[i], starts)
		}
	}
}

func (o *object) replaceSectionReference(text *elfobj.Section, r *elfobj.Reloc, starts map[*elfobj.Symbol][]uint64) {
	y := r.Symbol
	if y == nil || y.Type != elf.STT_SECTION || y.Section == nil || pcBias(r.Type) == 0 {
		return
	}
	bias, ok := o.instructionEnd(text, r.Offset, starts)
	if !ok {
		return
	}
	named := o.covering(y.Section, r.Addend+int64(bias))
	if named == nil {
		return
	}
	r.Symbol = named
	r.Addend -= int64(named.Value)
}

// instructionEnd returns the distance from offset to the end of the
// instruction of text that contains it.
func (o *object) instructionEnd(text *elfobj.Section, offset uint64, starts map[*elfobj.Symbol][]uint64) (int, bool) {
	fn := o.covering(text, int64(offset))
	if fn == nil || fn.Type != elf.STT_FUNC {
		return 0, false
	}
	list, ok := starts[fn]
	if !ok {
		list = instructionStarts(text.Data, fn.Value, fn.Value+fn.Size)
		starts[fn] = list
	}
	i := sort.Search(len(list), func(i int) bool { return list[i] > offset })
	if i == 0 || i == len(list) {
		return 0, false
	}
	end := list[i]
	if end < offset+4 {
		return 0, false
	}
	return int(end - offset), true
}

// instructionStarts returns the offsets where the instructions of
// code[from:to] start, followed by to; it stops at the first byte it
// cannot decode.
func instructionStarts(code []byte, from, to uint64) []uint64 {
	to = min(to, uint64(len(code)))
	var starts []uint64
	for pos := from; pos < to; {
		starts = append(starts, pos)
		n := insnLength(code[pos:to])
		if n <= 0 {
			return starts
		}
		pos += uint64(n)
	}
	return append(starts, to)
}

// covering returns the named symbol of s whose bytes contain offset.
func (o *object) covering(s *elfobj.Section, offset int64) *elfobj.Symbol {
	for _, named := range o.defined[s] {
		start := int64(named.Value)
		if offset >= start && (offset < start+int64(named.Size) || named.Size == 0 && offset == start) {
			return named
		}
	}
	return nil
}
