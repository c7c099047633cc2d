package symtab

import (
	"debug/elf"
	"strings"
	"testing"
)

func TestInTextRanges(t *testing.T) {
	ranges := []addrRange{
		{start: 0x1000, end: 0x2000, startSym: "_stext", endSym: "_etext"},
		{start: 0x5000, end: 0x6000, startSym: "_sinittext", endSym: "_einittext"},
	}
	tests := []struct {
		name string
		addr uint64
		want bool
	}{
		{"_stext", 0x1000, true},
		{"in_text", 0x1800, true},
		{"_etext", 0x2000, true},
		{"at_etext", 0x2000, false},
		{"between", 0x3000, false},
		{"in_init", 0x5800, true},
		{"at_einittext", 0x6000, false},
		{"below", 0x10, false},
	}
	for _, tt := range tests {
		if got := inTextRanges(tt.name, tt.addr, ranges); got != tt.want {
			t.Errorf("%s at %#x: got %v, want %v", tt.name, tt.addr, got, tt.want)
		}
	}
}

func TestKallsymsCandidate(t *testing.T) {
	sections := []*elf.Section{
		{SectionHeader: elf.SectionHeader{Name: ""}},
		{SectionHeader: elf.SectionHeader{Name: ".text", Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR}},
		{SectionHeader: elf.SectionHeader{Name: ".comment"}},
	}
	local := func(name string, typ elf.SymType, section elf.SectionIndex) elf.Symbol {
		return elf.Symbol{Name: name, Info: elf.ST_INFO(elf.STB_LOCAL, typ), Section: section}
	}
	tests := []struct {
		sym  elf.Symbol
		want bool
	}{
		{local("helper", elf.STT_FUNC, 1), true},
		{local("helper.isra.0", elf.STT_FUNC, 1), true},
		{local("calls.0", elf.STT_OBJECT, 1), true},
		{local("", elf.STT_SECTION, 1), false},
		{local("a.c", elf.STT_FILE, elf.SHN_ABS), false},
		{local("abs_value", elf.STT_NOTYPE, elf.SHN_ABS), false},
		{local("in_comment", elf.STT_OBJECT, 2), false},
		{local(".Ltmp", elf.STT_NOTYPE, 1), false},
		{local("$x", elf.STT_NOTYPE, 1), false},
		{local("__crc_foo", elf.STT_NOTYPE, 1), false},
		{local("__kstrtab_foo", elf.STT_OBJECT, 1), false},
		{local("L0", elf.STT_NOTYPE, 1), false},
		{local("kallsyms_names", elf.STT_NOTYPE, 1), false},
		{local("__kcfi_typeid_foo", elf.STT_NOTYPE, 1), false},
		{elf.Symbol{Name: "undef", Info: elf.ST_INFO(elf.STB_GLOBAL, elf.STT_FUNC)}, false},
		{elf.Symbol{Name: "unique", Info: elf.ST_INFO(stbGNUUnique, elf.STT_OBJECT), Section: 1}, false},
	}
	for _, tt := range tests {
		if got := kallsymsCandidate(tt.sym, sections); got != tt.want {
			t.Errorf("%q: got %v, want %v", tt.sym.Name, got, tt.want)
		}
	}
}

func TestSymposTextOnlyKallsyms(t *testing.T) {
	table := &Table{index: kallsymsIndex{}}
	data := Symbol{Name: "counter", Type: elf.STT_OBJECT, Section: ".bss"}

	_, err := table.sympos(data)
	if err == nil || !strings.Contains(err.Error(), "CONFIG_KALLSYMS_ALL") {
		t.Errorf("got error %v, want one naming CONFIG_KALLSYMS_ALL", err)
	}
}

func TestKallsymsIndexPosition(t *testing.T) {
	index := newKallsymsIndex([]Symbol{
		{Name: "f", Addr: 0x300},
		{Name: "f", Addr: 0x100},
		{Name: "f", Addr: 0x200},
		{Name: "g", Addr: 0x150},
	})
	for addr, want := range map[uint64]int{0x100: 1, 0x200: 2, 0x300: 3} {
		got, ok := index.position("f", addr)
		if !ok || got != want {
			t.Errorf("f at %#x: got %d, %v, want %d", addr, got, ok, want)
		}
	}
	if _, ok := index.position("f", 0x150); ok {
		t.Error("f at 0x150: found")
	}
}
