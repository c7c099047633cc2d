package klpmod

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// addLivepatchRelocs adds the recorded livepatch relocations to the linked
// module at path: one .klp.rela.vmlinux.SECTION per section they apply
// to, against .klp.sym symbols with section index SHN_LIVEPATCH. The
// marker symbols locate each section after the link and are removed.
func addLivepatchRelocs(path string, preps []*prepared) error {
	ko, err := elfobj.Open(path)
	if err != nil {
		return err
	}
	markers := markerSymbols(ko)
	symbols := map[string]*elfobj.Symbol{}
	sections := map[*elfobj.Section]*elfobj.Section{}
	for _, p := range preps {
		for _, rel := range p.relocs {
			m := markers[rel.marker]
			if m == nil {
				return fmt.Errorf("marker symbol %s missing after the module link", rel.marker)
			}
			rs := klpSection(ko, m.Section, sections)
			rs.Relocs = append(rs.Relocs, elfobj.Reloc{
				Offset: m.Value + rel.offset,
				Type:   rel.typ,
				Symbol: klpSymbol(ko, rel, symbols),
				Addend: rel.addend,
			})
		}
	}
	removeMarkers(ko)
	if err := ko.WriteFile(path); err != nil {
		return err
	}
	return verify(path)
}

func markerSymbols(ko *elfobj.File) map[string]*elfobj.Symbol {
	markers := map[string]*elfobj.Symbol{}
	for _, y := range ko.Symbols {
		if strings.HasPrefix(y.Name, "__keepup_mark_") && y.Section != nil {
			markers[y.Name] = y
		}
	}
	return markers
}

func klpSection(ko *elfobj.File, target *elfobj.Section, made map[*elfobj.Section]*elfobj.Section) *elfobj.Section {
	if rs := made[target]; rs != nil {
		return rs
	}
	rs := &elfobj.Section{
		Name:    ".klp.rela.vmlinux." + target.Name,
		Type:    elf.SHT_RELA,
		Flags:   elf.SHF_ALLOC | elf.SHF_INFO_LINK | elfobj.SHFRelaLivepatch,
		Align:   8,
		EntSize: 24,
		Info:    target,
	}
	ko.Sections = append(ko.Sections, rs)
	made[target] = rs
	return rs
}

func klpSymbol(ko *elfobj.File, rel klpReloc, made map[string]*elfobj.Symbol) *elfobj.Symbol {
	if y := made[rel.symbol]; y != nil {
		return y
	}
	typ := rel.symTyp
	if typ != elf.STT_FUNC && typ != elf.STT_OBJECT {
		typ = elf.STT_NOTYPE
	}
	y := &elfobj.Symbol{Name: rel.symbol, Type: typ, Bind: elf.STB_GLOBAL, Shndx: elfobj.SHNLivepatch}
	ko.Symbols = append(ko.Symbols, y)
	made[rel.symbol] = y
	return y
}

func removeMarkers(ko *elfobj.File) {
	kept := ko.Symbols[:0]
	for _, y := range ko.Symbols {
		if !strings.HasPrefix(y.Name, "__keepup_mark_") {
			kept = append(kept, y)
		}
	}
	ko.Symbols = kept
}

// verify rereads the written module with the standard library and checks
// what the kernel's module loader relies on.
func verify(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reread %s: %w", path, err)
	}
	defer f.Close()
	for _, name := range []string{".modinfo", ".gnu.linkonce.this_module", ".symtab"} {
		if f.Section(name) == nil {
			return fmt.Errorf("%s: section %s missing", path, name)
		}
	}
	if _, err := f.Symbols(); err != nil {
		return fmt.Errorf("%s: symbols: %w", path, err)
	}
	return nil
}
