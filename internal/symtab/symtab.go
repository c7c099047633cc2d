// Package symtab determines how a live patch can reach each symbol of the
// target vmlinux: through an export listed in Module.symvers, or through a
// livepatch relocation against ".klp.sym.vmlinux.NAME,SYMPOS", where
// SYMPOS counts the same-named entries of the kernel's kallsyms table.
package symtab

import (
	"debug/elf"
	"fmt"
)

// Symbol is one definition in the vmlinux symbol table.
type Symbol struct {
	Name     string
	Addr     uint64 // link-time address (st_value)
	Size     uint64
	Type     elf.SymType
	Bind     elf.SymBind
	Section  string // section name, empty for absolute symbols
	Kallsyms bool   // whether the kernel's kallsyms table lists the symbol
	Init     bool   // whether the symbol lies in init memory, which the kernel frees after boot
}

// Table is the symbol information of one vmlinux and its Module.symvers.
type Table struct {
	exports map[string]Export
	globals map[string]Symbol
	files   []*File
	byName  map[string][]*File // files by FILE symbol name
	index   kallsymsIndex

	// kallsymsAll is whether kallsyms lists every symbol, as with
	// CONFIG_KALLSYMS_ALL, or only those in the text ranges.
	kallsymsAll bool
}

// Load reads the symbol table of the vmlinux ELF file and the exports of
// Module.symvers.
func Load(vmlinux, symvers string) (*Table, error) {
	exports, err := readSymvers(symvers)
	if err != nil {
		return nil, err
	}

	t, err := readVmlinux(vmlinux)
	if err != nil {
		return nil, err
	}

	t.exports = exports
	return t, nil
}

// Export returns the export of name listed in Module.symvers. The export
// may come from a module: check Export.Module.
func (t *Table) Export(name string) (Export, bool) {
	e, ok := t.exports[name]
	return e, ok
}

// Global returns the global or weak definition of name in vmlinux.
func (t *Table) Global(name string) (Symbol, bool) {
	s, ok := t.globals[name]
	return s, ok
}

// Count returns how many kallsyms entries carry name.
func (t *Table) Count(name string) int {
	return len(t.index[name])
}

// KallsymsAll reports whether kallsyms lists data symbols as well as text,
// as it does with CONFIG_KALLSYMS_ALL.
func (t *Table) KallsymsAll() bool {
	return t.kallsymsAll
}

// Sympos returns the sympos of a global symbol: 0 if its name is unique in
// kallsyms, else its 1-based position among the entries of that name.
func (t *Table) Sympos(name string) (int, error) {
	s, ok := t.globals[name]
	if !ok {
		return 0, fmt.Errorf("symbol %q: no global definition in vmlinux", name)
	}
	return t.sympos(s)
}

// sympos computes the sympos of s. It rejects symbols in init memory,
// because kallsyms still lists them after boot when that memory is freed.
func (t *Table) sympos(s Symbol) (int, error) {
	if !s.Kallsyms {
		return 0, t.notInKallsyms(s)
	}
	if s.Init {
		return 0, fmt.Errorf("symbol %q in section %q: in init memory, which the kernel frees after boot, so a live patch must not use it", s.Name, s.Section)
	}

	if t.Count(s.Name) == 1 {
		return 0, nil
	}

	pos, ok := t.index.position(s.Name, s.Addr)
	if !ok {
		return 0, fmt.Errorf("symbol %q at %#x: missing from the kallsyms index", s.Name, s.Addr)
	}
	return pos, nil
}

func (t *Table) notInKallsyms(s Symbol) error {
	if !t.kallsymsAll && s.Type != elf.STT_FUNC {
		return fmt.Errorf("symbol %q in section %q: not in kallsyms, which lists only text because the kernel lacks CONFIG_KALLSYMS_ALL, so no livepatch relocation can resolve it", s.Name, s.Section)
	}
	return fmt.Errorf("symbol %q in section %q: not in kallsyms, so no livepatch relocation can resolve it", s.Name, s.Section)
}
