package objdiff

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/keepup/keepup/internal/elfobj"
)

// emitter builds the patch object from the selected sections.
type emitter struct {
	d         *differ
	out       *elfobj.File
	sections  map[*elfobj.Section]*elfobj.Section // patched -> patch object
	symbols   map[*elfobj.Symbol]*elfobj.Symbol   // patched -> patch object
	externals map[string]*elfobj.Symbol           // undefined symbols by bind and name
}

func (d *differ) emit() (*elfobj.File, map[*elfobj.Symbol]*elfobj.Symbol, error) {
	p := d.patched.f
	e := &emitter{
		d:         d,
		out:       &elfobj.File{Name: d.opts.Object, OSABI: p.OSABI, Machine: p.Machine, Flags: p.Flags},
		sections:  map[*elfobj.Section]*elfobj.Section{},
		symbols:   map[*elfobj.Symbol]*elfobj.Symbol{},
		externals: map[string]*elfobj.Symbol{},
	}
	e.copyFileSymbol()
	e.copySections()
	if err := e.copyRelocs(); err != nil {
		return nil, nil, err
	}
	if err := e.copySpecials(); err != nil {
		return nil, nil, err
	}
	e.addStackNote()
	return e.out, e.symbols, nil
}

func (e *emitter) copyFileSymbol() {
	for _, y := range e.d.patched.f.Symbols {
		if y.Type == elf.STT_FILE {
			e.out.Symbols = append(e.out.Symbols, &elfobj.Symbol{Name: y.Name, Type: elf.STT_FILE, Bind: elf.STB_LOCAL, Shndx: elf.SHN_ABS})
			return
		}
	}
}

// copySections copies each carried section with its section symbol and
// the named symbols it defines.
func (e *emitter) copySections() {
	for _, s := range e.d.patched.f.Sections {
		if !e.d.include[s] {
			continue
		}
		c := copySection(s, s.Data)
		e.sections[s] = c
		e.out.Sections = append(e.out.Sections, c)
		e.addSectionSymbol(c)
	}
	for _, y := range e.d.patched.f.Symbols {
		if y.Section == nil || e.sections[y.Section] == nil || y.Type == elf.STT_SECTION || y.Name == "" {
			continue
		}
		// A variable bound to the running kernel keeps no symbol in its
		// carried section: the link would bind the patch's references
		// to that copy instead of the kernel's.
		if e.d.boundToKernel(y) {
			continue
		}
		c := *y
		c.Section = e.sections[y.Section]
		e.symbols[y] = &c
		e.out.Symbols = append(e.out.Symbols, &c)
	}
}

func copySection(s *elfobj.Section, data []byte) *elfobj.Section {
	return &elfobj.Section{
		Name:    s.Name,
		Type:    s.Type,
		Flags:   s.Flags &^ elf.SHF_GROUP,
		Align:   s.Align,
		EntSize: s.EntSize,
		Data:    bytes.Clone(data),
		Size:    s.Size,
	}
}

func (e *emitter) addSectionSymbol(s *elfobj.Section) *elfobj.Symbol {
	y := &elfobj.Symbol{Type: elf.STT_SECTION, Bind: elf.STB_LOCAL, Section: s}
	e.out.Symbols = append(e.out.Symbols, y)
	return y
}

func (e *emitter) sectionSymbol(s *elfobj.Section) *elfobj.Symbol {
	c := e.sections[s]
	if y := e.out.SectionSymbol(c); y != nil {
		return y
	}
	return e.addSectionSymbol(c)
}

func (e *emitter) copyRelocs() error {
	for _, s := range e.d.patched.f.Sections {
		c := e.sections[s]
		rs := e.d.patched.relocs[s]
		if c == nil || rs == nil {
			continue
		}
		out := e.relocSection(rs.Name, c)
		for _, rel := range rs.Relocs {
			mapped, err := e.mapReloc(rel)
			if err != nil {
				return fmt.Errorf("section %s: %w", s.Name, err)
			}
			out.Relocs = append(out.Relocs, mapped)
		}
	}
	return nil
}

func (e *emitter) relocSection(name string, target *elfobj.Section) *elfobj.Section {
	rs := &elfobj.Section{Name: name, Type: elf.SHT_RELA, Flags: elf.SHF_INFO_LINK, Align: 8, EntSize: 24, Info: target}
	e.out.Sections = append(e.out.Sections, rs)
	return rs
}

// mapReloc rewrites one relocation of the patched object for the patch
// object: to a carried symbol, or to an undefined symbol that stands for
// the running kernel's copy.
func (e *emitter) mapReloc(rel elfobj.Reloc) (elfobj.Reloc, error) {
	out := rel
	target, off := e.d.patched.resolve(rel)
	switch {
	case target == nil:
		out.Symbol = nil
	case target.Section != nil && e.sections[target.Section] != nil && !e.d.boundToKernel(target):
		if rel.Symbol.Type == elf.STT_SECTION {
			out.Symbol = e.sectionSymbol(rel.Symbol.Section)
		} else {
			out.Symbol = e.symbols[target]
		}
	case target.Section == nil:
		out.Symbol = e.external(target.Name, target.Bind, target.Type)
	default:
		orig := e.d.match[target]
		if orig == nil {
			return out, fmt.Errorf("offset %#x: reference to %q, which the patch neither carries nor finds in the original build", rel.Offset, target.Name)
		}
		out.Symbol = e.external(orig.Name, orig.Bind, orig.Type)
		out.Addend = off
	}
	return out, nil
}

func (e *emitter) external(name string, bind elf.SymBind, typ elf.SymType) *elfobj.Symbol {
	k := fmt.Sprintf("%d:%s", bind, name)
	if y := e.externals[k]; y != nil {
		return y
	}
	if typ == elf.STT_SECTION || typ == elf.STT_FILE {
		typ = elf.STT_NOTYPE
	}
	y := &elfobj.Symbol{Name: name, Bind: bind, Type: typ, Shndx: elf.SHN_UNDEF}
	e.externals[k] = y
	e.out.Symbols = append(e.out.Symbols, y)
	return y
}

// copySpecials writes the entries of each special section that belong to
// carried code.
func (e *emitter) copySpecials() error {
	for _, sp := range e.d.specials {
		byEntry := e.d.entryRelocs(sp)
		kept := e.d.keptEntries(sp, byEntry)
		if len(kept) == 0 {
			continue
		}
		if err := e.copyEntries(sp, kept, byEntry); err != nil {
			return fmt.Errorf("section %s: %w", sp.sec.Name, err)
		}
	}
	return nil
}

func (e *emitter) copyEntries(sp *special, kept []int, byEntry map[int][]elfobj.Reloc) error {
	var data, pairData []byte
	var relocs []elfobj.Reloc
	for k, i := range kept {
		data = append(data, sp.entry(sp.sec, sp.size, i)...)
		if sp.pair != nil {
			pairData = append(pairData, sp.entry(sp.pair, sp.pairSize, i)...)
		}
		for _, rel := range byEntry[i] {
			mapped, err := e.mapReloc(rel)
			if err != nil {
				return err
			}
			mapped.Offset = uint64(k*sp.size) + rel.Offset - uint64(i*sp.size)
			relocs = append(relocs, mapped)
		}
	}
	c := copySection(sp.sec, data)
	e.out.Sections = append(e.out.Sections, c)
	e.addSectionSymbol(c)
	rs := e.relocSection(".rela"+sp.sec.Name, c)
	rs.Relocs = relocs
	if sp.pair != nil {
		p := copySection(sp.pair, pairData)
		e.out.Sections = append(e.out.Sections, p)
		e.addSectionSymbol(p)
	}
	return nil
}

// addStackNote marks the object as not needing an executable stack, as
// the compiler does, so the linker does not warn.
func (e *emitter) addStackNote() {
	e.out.Sections = append(e.out.Sections, &elfobj.Section{Name: ".note.GNU-stack", Type: elf.SHT_PROGBITS, Align: 1})
}
