// Package elfobj reads, edits and writes x86-64 relocatable ELF objects:
// the kernel's .o files and modules. A File holds sections, symbols and
// relocations as linked Go values, so an edit never has to renumber indexes
// by hand; Write assigns them anew.
package elfobj

import (
	"debug/elf"
	"fmt"
)

// ELF constants the standard library does not name.
const (
	// SHNLivepatch is the section index of a symbol that the kernel's
	// livepatch core resolves when it applies the patch (SHN_LIVEPATCH).
	SHNLivepatch elf.SectionIndex = 0xff20
	// SHFRelaLivepatch marks a relocation section that the livepatch core
	// applies instead of the module loader (SHF_RELA_LIVEPATCH).
	SHFRelaLivepatch elf.SectionFlag = 0x00100000
)

// File is one relocatable object.
type File struct {
	Name     string // path or name the object was read from, for messages
	OSABI    elf.OSABI
	Machine  elf.Machine
	Flags    uint32
	Sections []*Section // in file order, without the null section
	Symbols  []*Symbol  // in file order, without the null symbol
}

// Section is one section. Relocation sections carry their entries in
// Relocs and their target in Info; Data of a relocation section or of the
// symbol and string tables is rebuilt by Write.
type Section struct {
	Name      string
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Addr      uint64
	Align     uint64
	EntSize   uint64
	Data      []byte // nil for SHT_NOBITS
	Size      uint64 // size of an SHT_NOBITS section; len(Data) otherwise
	Link      *Section
	Info      *Section // target of a relocation section, or the section of SHF_INFO_LINK
	InfoSym   *Symbol  // signature symbol of an SHT_GROUP section
	RawLink   uint32   // sh_link when it names no section
	RawInfo   uint32   // sh_info when it names no section or symbol
	Relocs    []Reloc  // entries of an SHT_RELA section
	Members   []*Section
	GroupFlag uint32 // flags word of an SHT_GROUP section
	Index     int    // index in the file read or last written
}

// Symbol is one symbol table entry.
type Symbol struct {
	Name    string
	Type    elf.SymType
	Bind    elf.SymBind
	Other   uint8
	Section *Section         // defining section, or nil
	Shndx   elf.SectionIndex // special index (SHN_UNDEF, SHN_ABS, SHN_COMMON, SHNLivepatch) when Section is nil
	Value   uint64
	Size    uint64
	Index   int // index in the symbol table read or last written
}

// Reloc is one RELA entry.
type Reloc struct {
	Offset uint64
	Type   elf.R_X86_64
	Symbol *Symbol // nil for a relocation against symbol 0
	Addend int64
}

// SectionSize returns the size of s in the image.
func (s *Section) SectionSize() uint64 {
	if s.Type == elf.SHT_NOBITS {
		return s.Size
	}
	return uint64(len(s.Data))
}

// IsReloc reports whether s is a relocation section.
func (s *Section) IsReloc() bool { return s.Type == elf.SHT_RELA }

// Defined reports whether the symbol is defined in a section of this object.
func (y *Symbol) Defined() bool { return y.Section != nil }

// Section returns the section named name, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// RelocsFor returns the relocation section that applies to s, or nil.
func (f *File) RelocsFor(s *Section) *Section {
	for _, r := range f.Sections {
		if r.Type == elf.SHT_RELA && r.Info == s {
			return r
		}
	}
	return nil
}

// Symbol returns the first symbol named name, or nil.
func (f *File) Symbol(name string) *Symbol {
	for _, y := range f.Symbols {
		if y.Name == name {
			return y
		}
	}
	return nil
}

// SectionSymbol returns the STT_SECTION symbol of s, or nil.
func (f *File) SectionSymbol(s *Section) *Symbol {
	for _, y := range f.Symbols {
		if y.Type == elf.STT_SECTION && y.Section == s {
			return y
		}
	}
	return nil
}

// FormatError reports malformed input at a byte offset of an object.
type FormatError struct {
	Object string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %#x: %s", e.Object, e.Offset, e.Msg)
}
