package symtab

import (
	"debug/elf"
	"fmt"
)

// readVmlinux reads the symbol table of the vmlinux ELF file at path. Only
// the section headers, .symtab, .strtab and four bytes of .rodata are
// read, not the debugging information that makes up most of the file.
func readVmlinux(path string) (*Table, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read vmlinux: %w", err)
	}
	defer f.Close()

	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("read vmlinux %s: symbol table: %w", path, err)
	}

	all, listed, err := kallsymsListing(f, syms)
	if err != nil {
		return nil, fmt.Errorf("read vmlinux %s: %w", path, err)
	}

	t := newTable(syms, f.Sections, listed, initRange(syms))
	t.kallsymsAll = all
	return t, nil
}

// newTable groups the local symbols by the FILE symbol before them and
// collects the global ones. Local symbols before the first FILE symbol
// belong to no file. listed[i] is whether kallsyms lists syms[i].
func newTable(syms []elf.Symbol, sections []*elf.Section, listed []bool, init addrRange) *Table {
	t := &Table{
		globals: make(map[string]Symbol),
		byName:  make(map[string][]*File),
	}

	var current *File
	var inKallsyms []Symbol
	for i, es := range syms {
		if elf.ST_TYPE(es.Info) == elf.STT_FILE {
			current = t.addFile(es.Name)
			continue
		}
		if es.Section == elf.SHN_UNDEF || omittedByNm(es) {
			continue
		}

		s := newSymbol(es, sections)
		s.Kallsyms = listed[i]
		s.Init = s.Addr >= init.start && s.Addr < init.end
		if s.Kallsyms {
			inKallsyms = append(inKallsyms, s)
		}

		switch {
		case s.Bind == elf.STB_LOCAL && current != nil:
			current.add(s)
		case s.Bind == elf.STB_GLOBAL || s.Bind == elf.STB_WEAK:
			t.addGlobal(s)
		}
	}

	t.index = newKallsymsIndex(inKallsyms)
	return t
}

func newSymbol(es elf.Symbol, sections []*elf.Section) Symbol {
	s := Symbol{
		Name: es.Name,
		Addr: es.Value,
		Size: es.Size,
		Type: elf.ST_TYPE(es.Info),
		Bind: elf.ST_BIND(es.Info),
	}
	if i := int(es.Section); es.Section < elf.SHN_LORESERVE && i < len(sections) {
		s.Section = sections[i].Name
	}
	return s
}

func (t *Table) addFile(name string) *File {
	f := &File{
		Name:   name,
		Index:  len(t.files),
		locals: make(map[string][]Symbol),
		table:  t,
	}
	t.files = append(t.files, f)
	t.byName[name] = append(t.byName[name], f)
	return f
}

// addGlobal keeps the first definition of a name. A linked vmlinux has
// one definition per global name, so a second one is not expected.
func (t *Table) addGlobal(s Symbol) {
	if _, ok := t.globals[s.Name]; !ok {
		t.globals[s.Name] = s
	}
}

// initRange returns the init memory from __init_begin to __init_end, which
// the kernel frees after boot. It is empty if vmlinux lacks either symbol.
func initRange(syms []elf.Symbol) addrRange {
	r := addrRange{startSym: "__init_begin", endSym: "__init_end"}
	var okStart, okEnd bool
	for _, s := range syms {
		if elf.ST_BIND(s.Info) != elf.STB_GLOBAL || s.Section == elf.SHN_UNDEF {
			continue
		}
		switch s.Name {
		case r.startSym:
			r.start, okStart = s.Value, true
		case r.endSym:
			r.end, okEnd = s.Value, true
		}
	}
	if !okStart || !okEnd {
		return addrRange{}
	}
	return r
}

// kallsymsListing returns which symbols kallsyms lists and whether it was
// built with --all-symbols. It selects the mode whose count matches the
// vmlinux's own kallsyms_num_syms. A vmlinux without kallsyms tables is
// taken to list all symbols.
func kallsymsListing(f *elf.File, syms []elf.Symbol) (bool, []bool, error) {
	all := make([]bool, len(syms))
	text := make([]bool, len(syms))
	var countAll, countText int
	ranges := textRanges(syms)
	for i, s := range syms {
		if !kallsymsCandidate(s, f.Sections) {
			continue
		}
		all[i] = true
		countAll++
		if inTextRanges(s.Name, s.Value, ranges) {
			text[i] = true
			countText++
		}
	}

	n, ok, err := readKallsymsNumSyms(f, syms)
	switch {
	case err != nil:
		return false, nil, err
	case !ok || uint64(countAll) == n:
		return true, all, nil
	case uint64(countText) == n:
		return false, text, nil
	}
	return false, nil, fmt.Errorf("kallsyms_num_syms is %d, but the symbol table gives %d entries with --all-symbols and %d without: the kallsyms filters of this package do not match the ones that built this kernel, so sympos values would be wrong", n, countAll, countText)
}

// readKallsymsNumSyms reads the value of the kallsyms_num_syms variable,
// the number of kallsyms entries. It returns false if vmlinux has none.
func readKallsymsNumSyms(f *elf.File, syms []elf.Symbol) (uint64, bool, error) {
	for _, s := range syms {
		if s.Name != "kallsyms_num_syms" || elf.ST_BIND(s.Info) != elf.STB_GLOBAL {
			continue
		}
		if s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE || int(s.Section) >= len(f.Sections) {
			return 0, false, fmt.Errorf("kallsyms_num_syms: invalid section index %d", s.Section)
		}

		n, err := readUint32(f, f.Sections[s.Section], s.Value)
		if err != nil {
			return 0, false, fmt.Errorf("kallsyms_num_syms: %w", err)
		}
		return uint64(n), true, nil
	}
	return 0, false, nil
}

func readUint32(f *elf.File, sec *elf.Section, addr uint64) (uint32, error) {
	if sec.Type == elf.SHT_NOBITS || addr < sec.Addr || addr+4 > sec.Addr+sec.Size {
		return 0, fmt.Errorf("address %#x: outside the contents of section %q", addr, sec.Name)
	}

	buf := make([]byte, 4)
	if _, err := sec.ReadAt(buf, int64(addr-sec.Addr)); err != nil {
		return 0, fmt.Errorf("section %q at %#x: %w", sec.Name, addr, err)
	}
	return f.ByteOrder.Uint32(buf), nil
}
