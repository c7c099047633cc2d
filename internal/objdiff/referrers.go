package objdiff

import (
	"debug/elf"

	"github.com/keepup/keepup/internal/elfobj"
)

// referrerIndex maps each symbol of the patched object to the functions
// that reference it and to the first data section, in section order, that
// stores its address.
type referrerIndex struct {
	callers  map[*elfobj.Symbol][]*elfobj.Symbol
	storedIn map[*elfobj.Symbol]string
}

// indexReferrers walks the relocations of the patched object once for all
// untraced functions, not once for each.
func (d *differ) indexReferrers() *referrerIndex {
	idx := &referrerIndex{callers: map[*elfobj.Symbol][]*elfobj.Symbol{}, storedIn: map[*elfobj.Symbol]string{}}
	for _, caller := range d.patched.functions() {
		for _, rel := range d.patched.relocsIn(caller) {
			target, _ := d.patched.resolve(rel)
			if target == nil || target == caller {
				continue
			}
			if callers := idx.callers[target]; len(callers) == 0 || callers[len(callers)-1] != caller {
				idx.callers[target] = append(callers, caller)
			}
		}
	}
	for _, s := range d.patched.f.Sections {
		rs := d.patched.relocs[s]
		if rs == nil || !d.storesAddresses(s) {
			continue
		}
		for _, rel := range rs.Relocs {
			if target, _ := d.patched.resolve(rel); target != nil && idx.storedIn[target] == "" {
				idx.storedIn[target] = s.Name
			}
		}
	}
	return idx
}

// storesAddresses reports whether s is data of the running kernel whose
// pointers to a function would bypass its replacement: allocated, not
// code, not a special section and not metadata the patch drops.
func (d *differ) storesAddresses(s *elfobj.Section) bool {
	return !hasFlag(s.Flags, elf.SHF_EXECINSTR) && hasFlag(s.Flags, elf.SHF_ALLOC) && d.specialFor(s) == nil && !isDropped(s.Name)
}
