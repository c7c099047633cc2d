package klpmod

import (
	"debug/elf"
	"fmt"
	"sort"

	"github.com/keepup/keepup/internal/elfobj"
	"github.com/keepup/keepup/internal/objdiff"
)

// klpReloc is one relocation that the livepatch core applies, recorded
// relative to a marker symbol because the kernel's module link moves
// sections.
type klpReloc struct {
	marker string // local symbol at offset 0 of the section it applies to
	offset uint64
	typ    elf.R_X86_64
	addend int64
	symbol string // .klp.sym.vmlinux.NAME,SYMPOS
	symTyp elf.SymType
}

// klpFunc is one function the patch replaces, for the registration code.
type klpFunc struct {
	oldName string
	sympos  int
	alias   string // global symbol of the new function in the patch object
}

// prepared is one patch object ready for the module link.
type prepared struct {
	file       *elfobj.File
	relocs     []klpReloc
	funcs      []klpFunc
	namespaces []string
}

// prepare binds every undefined symbol of one patch object, moves the
// relocations against unexported symbols out for the livepatch core, and
// adds the symbols the registration code and the final fix-up need.
func prepare(index int, obj Object, r *resolver) (*prepared, error) {
	p := &prepared{file: obj.Result.Patch}
	bindings, err := bindAll(p.file, r)
	if err != nil {
		return nil, err
	}
	p.namespaces = namespaces(bindings)
	p.extractRelocs(index, bindings)
	p.dropUnused(bindings)
	if err := p.addAliases(index, obj.Result, r); err != nil {
		return nil, err
	}
	return p, nil
}

func bindAll(f *elfobj.File, r *resolver) (map[*elfobj.Symbol]binding, error) {
	bindings := map[*elfobj.Symbol]binding{}
	for _, y := range f.Symbols {
		if y.Section != nil || y.Shndx != elf.SHN_UNDEF || y.Name == "" {
			continue
		}
		b, err := r.bind(y)
		if err != nil {
			return nil, err
		}
		bindings[y] = b
	}
	return bindings, nil
}

func namespaces(bindings map[*elfobj.Symbol]binding) []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range bindings {
		if b.namespace != "" && !seen[b.namespace] {
			seen[b.namespace] = true
			out = append(out, b.namespace)
		}
	}
	sort.Strings(out)
	return out
}

// extractRelocs removes relocations against unexported symbols from the
// object and records them for the final fix-up. The bytes they would patch
// stay zero, as the kernel expects of a livepatch relocation's target.
func (p *prepared) extractRelocs(index int, bindings map[*elfobj.Symbol]binding) {
	markers := map[*elfobj.Section]string{}
	for _, rs := range p.file.Sections {
		if rs.Type != elf.SHT_RELA {
			continue
		}
		kept := rs.Relocs[:0]
		for _, rel := range rs.Relocs {
			b, ok := bindings[rel.Symbol]
			if !ok || b.exported {
				kept = append(kept, rel)
				continue
			}
			p.relocs = append(p.relocs, klpReloc{
				marker: p.marker(index, rs.Info, markers),
				offset: rel.Offset,
				typ:    rel.Type,
				addend: rel.Addend,
				symbol: klpName(rel.Symbol.Name, b.sympos),
				symTyp: rel.Symbol.Type,
			})
		}
		rs.Relocs = kept
	}
}

// marker returns the name of the marker symbol of section s, adding it.
func (p *prepared) marker(index int, s *elfobj.Section, markers map[*elfobj.Section]string) string {
	if name, ok := markers[s]; ok {
		return name
	}
	name := fmt.Sprintf("__keepup_mark_%d_%d", index, len(markers))
	markers[s] = name
	p.file.Symbols = append(p.file.Symbols, &elfobj.Symbol{Name: name, Type: elf.STT_NOTYPE, Bind: elf.STB_LOCAL, Section: s})
	return name
}

// dropUnused removes undefined symbols that no relocation uses any more,
// since modpost reports every undefined symbol it finds.
func (p *prepared) dropUnused(bindings map[*elfobj.Symbol]binding) {
	used := map[*elfobj.Symbol]bool{}
	for _, rs := range p.file.Sections {
		for _, rel := range rs.Relocs {
			used[rel.Symbol] = true
		}
	}
	kept := p.file.Symbols[:0]
	for _, y := range p.file.Symbols {
		if _, bound := bindings[y]; bound && !used[y] {
			continue
		}
		kept = append(kept, y)
	}
	p.file.Symbols = kept
}

// addAliases gives each changed function a global alias that the
// registration code names as the replacement.
func (p *prepared) addAliases(index int, res *objdiff.Result, r *resolver) error {
	for i, fn := range res.Functions {
		if fn.Kind != objdiff.KindChanged {
			continue
		}
		pos, err := r.sympos(fn.Name, fn.Symbol.Bind)
		if err != nil {
			return fmt.Errorf("function %q: %w", fn.Name, err)
		}
		alias := fmt.Sprintf("__keepup_new_%d_%d", index, i)
		y := *fn.Symbol
		y.Name, y.Bind, y.Other = alias, elf.STB_GLOBAL, byte(elf.STV_DEFAULT)
		p.file.Symbols = append(p.file.Symbols, &y)
		p.funcs = append(p.funcs, klpFunc{oldName: fn.Name, sympos: pos, alias: alias})
	}
	return nil
}
