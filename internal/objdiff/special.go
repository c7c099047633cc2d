package objdiff

import (
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// specialSections are the tables of fixed-size entries, each about one
// place in the code, whose entries for carried functions go into the
// patch. An entry belongs to the code its first relocation points at.
var specialSections = map[string]string{
	"__mcount_loc":       "ftrace call sites",
	".orc_unwind_ip":     "ORC unwind table addresses, paired with .orc_unwind",
	"__bug_table":        "BUG and WARN sites",
	"__jump_table":       "jump label sites",
	"__ex_table":         "exception table entries",
	".altinstructions":   "alternative instructions",
	".parainstructions":  "paravirt patch sites",
	".smp_locks":         "lock prefixes to patch on uniprocessor machines",
	".return_sites":      "return thunk sites",
	".retpoline_sites":   "retpoline call sites",
	".call_sites":        "call depth tracking sites",
	".static_call_sites": "static call sites",
	".ibt_endbr_seal":    "indirect branch tracking landing pads to seal",
	".kcfi_traps":        "control flow integrity trap sites",
}

// SpecialSections returns the names of the special sections whose entry
// sizes Options.EntrySizes may give, sorted. They include .printk_index,
// whose entries the differ drops, so its size is never needed.
func SpecialSections() []string {
	names := []string{".orc_unwind", ".printk_index"}
	for name := range specialSections {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// MaxEntrySize is the largest entry size of a special section accepted.
const MaxEntrySize = maxEntrySize

// droppedPrefixes name sections that are never carried: metadata that a live patch module
// does not need or must not have.
var droppedPrefixes = []string{
	".discard", ".comment", ".note.gnu.property", ".modinfo", "__ksymtab", "___ksymtab",
	"__kcrctab", ".printk_index", "__patchable_function_entries",
	".initcall", ".con_initcall", "__param", ".init.", ".exit.", ".gnu.lto", ".kpatch.",
}

// special is one special section of the patched object.
type special struct {
	sec      *elfobj.Section
	size     int
	pair     *elfobj.Section // .orc_unwind beside .orc_unwind_ip
	pairSize int
}

// count returns the number of entries. The last entry may be shorter than
// the others where entries are aligned and the section ends right after
// the last one's fields.
func (sp *special) count() int { return (len(sp.sec.Data) + sp.size - 1) / sp.size }

// entry returns the bytes of entry i, padded to the full entry size.
func (sp *special) entry(sec *elfobj.Section, size, i int) []byte {
	end := min((i+1)*size, len(sec.Data))
	out := make([]byte, size)
	copy(out, sec.Data[i*size:end])
	return out
}

// findSpecials lists the special sections of f with their entry sizes:
// from sizes when given, else from the section header.
// Every section whose size is unknown or wrong is named in one error, so
// that all sizes can be given in one go.
func findSpecials(f *elfobj.File, sizes map[string]int) ([]*special, error) {
	var out []*special
	var errs []error
	for _, s := range f.Sections {
		if _, ok := specialSections[s.Name]; !ok || s.Type != elf.SHT_PROGBITS {
			continue
		}
		size, err := entrySize(f, s, sizes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sp := &special{sec: s, size: size}
		if s.Name == ".orc_unwind_ip" {
			if err := addPair(f, sp, sizes); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out = append(out, sp)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// fieldSizes are the entry sizes of special sections whose entries are a
// single address or 32-bit offset on x86-64, the same in every kernel.
var fieldSizes = map[string]int{
	"__mcount_loc":     8,
	".orc_unwind_ip":   4,
	".smp_locks":       4,
	".return_sites":    4,
	".retpoline_sites": 4,
	".call_sites":      4,
	".ibt_endbr_seal":  4,
	".kcfi_traps":      4,
}

// maxEntrySize bounds the entry size of a special section. The largest
// entries in Linux 6.1 on x86-64 are far smaller (alt_instr is 12 bytes,
// jump_entry 16), so a larger size comes from a corrupt header.
const maxEntrySize = 256

func entrySize(f *elfobj.File, s *elfobj.Section, sizes map[string]int) (int, error) {
	size := sizes[s.Name]
	if size == 0 {
		size = int(s.EntSize)
	}
	if size == 0 {
		size = fieldSizes[s.Name]
	}
	if size <= 0 {
		return 0, fmt.Errorf("%s: special section %q: entry size unknown; give it as --entry-size %s=BYTES", f.Name, s.Name, s.Name)
	}
	if size > maxEntrySize {
		return 0, fmt.Errorf("%s: special section %q: entry size %d is over the maximum of %d; give the right size as --entry-size %s=BYTES", f.Name, s.Name, size, maxEntrySize, s.Name)
	}
	if err := checkEntryLayout(f, s, size); err != nil {
		if s.EntSize != 0 && uint64(size) != s.EntSize {
			err = fmt.Errorf("%w (the section header records %d)", err, s.EntSize)
		}
		return 0, fmt.Errorf("%s: special section %q: %w; give the right size as --entry-size %s=BYTES", f.Name, s.Name, err, s.Name)
	}
	return size, nil
}

// checkEntryLayout checks that the section's relocations fit entries of
// size bytes, as they do not for a wrong size: every entry with
// relocations has one at its offset 0, each offset within an entry always
// has the same relocation type, and a short last entry still holds all of
// its relocations.
func checkEntryLayout(f *elfobj.File, s *elfobj.Section, size int) error {
	rs := f.RelocsFor(s)
	if rs == nil || len(rs.Relocs) == 0 {
		if len(s.Data)%size != 0 {
			return fmt.Errorf("size %d is not a multiple of the entry size %d", len(s.Data), size)
		}
		return nil
	}
	types := map[int]elf.R_X86_64{}
	starts := map[int]bool{}
	entries := map[int]bool{}
	maxEnd := 0
	for _, rel := range rs.Relocs {
		off := int(rel.Offset) % size
		if t, seen := types[off]; seen && t != rel.Type {
			return fmt.Errorf("relocations at offset %d of %d-byte entries have types %v and %v, so %d is not the entry size", off, size, t, rel.Type, size)
		}
		types[off] = rel.Type
		entries[int(rel.Offset)/size] = true
		if off == 0 {
			starts[int(rel.Offset)/size] = true
		}
		maxEnd = max(maxEnd, off+elfobj.RelocSize(rel.Type))
	}
	for i := range entries {
		if !starts[i] {
			return fmt.Errorf("entry %d of %d bytes has relocations but none at its start, so %d is not the entry size", i, size, size)
		}
	}
	if rem := len(s.Data) % size; maxEnd > size || rem != 0 && rem < maxEnd {
		return fmt.Errorf("size %d does not hold whole entries of %d bytes", len(s.Data), size)
	}
	return nil
}

func addPair(f *elfobj.File, sp *special, sizes map[string]int) error {
	pair := f.Section(".orc_unwind")
	if pair == nil {
		return fmt.Errorf("%s: section .orc_unwind_ip has no .orc_unwind beside it", f.Name)
	}
	size, err := entrySize(f, pair, sizes)
	if err != nil {
		return err
	}
	if (len(pair.Data)+size-1)/size != sp.count() {
		return fmt.Errorf("%s: .orc_unwind has %d entries but .orc_unwind_ip has %d", f.Name, len(pair.Data)/size, sp.count())
	}
	sp.pair, sp.pairSize = pair, size
	return nil
}

func (d *differ) specialFor(s *elfobj.Section) *special {
	for _, sp := range d.specials {
		if sp.sec == s || sp.pair == s {
			return sp
		}
	}
	return nil
}

func isDropped(name string) bool {
	for _, p := range droppedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// entryRelocs groups the relocations of a special section by entry.
func (d *differ) entryRelocs(sp *special) map[int][]elfobj.Reloc {
	byEntry := map[int][]elfobj.Reloc{}
	rs := d.patched.relocs[sp.sec]
	if rs == nil {
		return byEntry
	}
	for _, rel := range rs.Relocs {
		i := int(rel.Offset) / sp.size
		byEntry[i] = append(byEntry[i], rel)
	}
	for _, rels := range byEntry {
		sort.SliceStable(rels, func(a, b int) bool { return rels[a].Offset < rels[b].Offset })
	}
	return byEntry
}

// keptEntries returns the entries of sp whose first relocation points into
// a carried section, in order.
func (d *differ) keptEntries(sp *special, byEntry map[int][]elfobj.Reloc) []int {
	var kept []int
	for i := 0; i < sp.count(); i++ {
		rels := byEntry[i]
		if len(rels) == 0 || int(rels[0].Offset) != i*sp.size {
			continue
		}
		target := rels[0].Symbol
		if target != nil && target.Section != nil && d.include[target.Section] {
			kept = append(kept, i)
		}
	}
	return kept
}
