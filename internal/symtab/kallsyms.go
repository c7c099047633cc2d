package symtab

import (
	"debug/elf"
	"sort"
	"strings"
)

// The kernel build makes its kallsyms table in three steps, and each step
// drops some symbols. First "nm -n" lists the symbols of a temporary
// vmlinux, and scripts/mksysmap filters that list with grep. Then
// scripts/kallsyms ignores more names and, without --all-symbols
// (CONFIG_KALLSYMS_ALL), every symbol outside the text ranges. The
// predicates below follow those steps as they are in Linux 6.1. Names stay
// whole, with gcc suffixes such as ".isra.0" or ".cold" and numbered
// static locals such as "key.3", because only CONFIG_LTO_CLANG builds
// strip a suffix (".llvm.N").

// kallsymsCandidate reports whether sym survives nm, mksysmap and the
// name checks of scripts/kallsyms. The text-range check comes later.
func kallsymsCandidate(sym elf.Symbol, sections []*elf.Section) bool {
	return !omittedByNm(sym) &&
		!droppedByMksysmap(sym, sections) &&
		!ignoredByKallsyms(sym.Name)
}

// omittedByNm reports whether nm leaves sym out of its listing: nm treats
// section and file symbols as debugging symbols and prints them only
// with -a.
func omittedByNm(sym elf.Symbol) bool {
	typ := elf.ST_TYPE(sym.Info)
	return typ == elf.STT_SECTION || typ == elf.STT_FILE || sym.Name == ""
}

// droppedByMksysmap reports whether mksysmap's filter or the type checks
// of scripts/kallsyms drop sym. Together they reject undefined (nm types U
// and w), absolute (a and A), debugging (N) and GNU unique (u) symbols,
// and mksysmap also drops local labels, "$" mapping symbols, "L0" and the
// __crc_, __kstrtab_ and __kstrtabns_ symbols of exports.
func droppedByMksysmap(sym elf.Symbol, sections []*elf.Section) bool {
	switch {
	case sym.Section == elf.SHN_UNDEF, sym.Section == elf.SHN_ABS:
		return true
	case elf.ST_BIND(sym.Info) == stbGNUUnique:
		return true
	case inNonAllocSection(sym, sections):
		return true
	}

	for _, prefix := range []string{"$", ".L", "__crc_", "__kstrtab_", "__kstrtabns_"} {
		if strings.HasPrefix(sym.Name, prefix) {
			return true
		}
	}
	return sym.Name == "L0"
}

// inNonAllocSection reports whether sym lives in a section that is not
// loaded, which nm types as a debugging symbol (N).
func inNonAllocSection(sym elf.Symbol, sections []*elf.Section) bool {
	i := int(sym.Section)
	if sym.Section >= elf.SHN_LORESERVE || i >= len(sections) {
		return false
	}
	return sections[i].Flags&elf.SHF_ALLOC == 0
}

// stbGNUUnique is the GNU binding STB_GNU_UNIQUE, which debug/elf does
// not name. It takes the first OS-specific value.
const stbGNUUnique = elf.STB_LOOS

// kallsymsOwnSymbols are the tables scripts/kallsyms generates, and two
// PowerPC linker symbols. It leaves them out so that every link pass
// lists the same symbols.
var kallsymsOwnSymbols = map[string]bool{
	"kallsyms_addresses":     true,
	"kallsyms_offsets":       true,
	"kallsyms_relative_base": true,
	"kallsyms_num_syms":      true,
	"kallsyms_names":         true,
	"kallsyms_markers":       true,
	"kallsyms_token_table":   true,
	"kallsyms_token_index":   true,
	"kallsyms_seqs_of_names": true,
	"_SDA_BASE_":             true,
	"_SDA2_BASE_":            true,
}

// ignoredByKallsyms reports whether scripts/kallsyms ignores a symbol by
// its name: its own tables, and linker stubs and type ids of other
// architectures and of clang.
func ignoredByKallsyms(name string) bool {
	if kallsymsOwnSymbols[name] {
		return true
	}

	prefixes := []string{
		"__efistub_", "__kvm_nvhe_$", "__kvm_nvhe_.L", "__AArch64ADRPThunk_",
		"__ARMV5PILongThunk_", "__ARMV7PILongThunk_", "__ThumbV7PILongThunk_",
		"__LA25Thunk_", "__microLA25Thunk_", "__kcfi_typeid_",
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}

	for _, s := range []string{"_from_arm", "_from_thumb", "_veneer"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return strings.Contains(name, ".long_branch.") || strings.Contains(name, ".plt_branch.")
}

// addrRange is an inclusive range of addresses bounded by two symbols.
type addrRange struct {
	start, end       uint64
	startSym, endSym string
}

// textRanges returns the ranges scripts/kallsyms keeps without
// --all-symbols: _stext to _etext and _sinittext to _einittext.
func textRanges(syms []elf.Symbol) []addrRange {
	addrs := make(map[string]uint64)
	for _, s := range syms {
		if elf.ST_BIND(s.Info) == elf.STB_GLOBAL && s.Section != elf.SHN_UNDEF {
			addrs[s.Name] = s.Value
		}
	}

	var ranges []addrRange
	for _, names := range [][2]string{{"_stext", "_etext"}, {"_sinittext", "_einittext"}} {
		start, okStart := addrs[names[0]]
		end, okEnd := addrs[names[1]]
		if okStart && okEnd {
			ranges = append(ranges, addrRange{start, end, names[0], names[1]})
		}
	}
	return ranges
}

// inTextRanges reports whether scripts/kallsyms keeps a symbol without
// --all-symbols. Symbols at a range's end address are dropped unless they
// are the end symbol itself, because they may move between link passes.
func inTextRanges(name string, addr uint64, ranges []addrRange) bool {
	inside := false
	for _, r := range ranges {
		if addr == r.end && name != r.endSym {
			return false
		}
		if addr >= r.start && addr <= r.end {
			inside = true
		}
	}
	return inside
}

// kallsymsIndex maps each name to the addresses of its kallsyms entries
// in the order the kernel iterates them.
type kallsymsIndex map[string][]uint64

// newKallsymsIndex sorts the candidates' addresses per name, because the
// kernel iterates kallsyms in address order. scripts/kallsyms breaks ties
// at one address by weakness, by name shape and by nm's order. Two entries
// of one name at one address resolve to the same address whichever comes
// first, so the tie-breaks cannot change where a sympos leads.
func newKallsymsIndex(candidates []Symbol) kallsymsIndex {
	index := make(kallsymsIndex)
	for _, s := range candidates {
		index[s.Name] = append(index[s.Name], s.Addr)
	}
	for _, addrs := range index {
		sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	}
	return index
}

// position returns the 1-based position of addr among name's entries.
func (k kallsymsIndex) position(name string, addr uint64) (int, bool) {
	addrs := k[name]
	i := sort.Search(len(addrs), func(i int) bool { return addrs[i] >= addr })
	if i == len(addrs) || addrs[i] != addr {
		return 0, false
	}
	return i + 1, true
}
