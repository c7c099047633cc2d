package elfobj

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

const (
	headerSize  = 64 // sizeof(Elf64_Ehdr)
	sectionSize = 64 // sizeof(Elf64_Shdr)
	symbolSize  = 24 // sizeof(Elf64_Sym)
	relaSize    = 24 // sizeof(Elf64_Rela)
)

// maxObjectSize bounds the size of an object Open reads whole, so that a
// mistaken path costs no memory. It is far above the size of kernel
// objects, which by estimate stay under 100 MiB with debug information.
const maxObjectSize = 1 << 30

// Open reads the relocatable object at path. It checks that path is a
// regular file of at most 1 GiB that starts with the ELF magic before it
// reads the whole file.
func Open(path string) (*File, error) {
	// Stat before opening, because opening a FIFO blocks until a writer
	// comes.
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file; give the path of an object file", path)
	}
	if info.Size() > maxObjectSize {
		return nil, fmt.Errorf("%s: %d bytes is over the maximum object size of %d bytes", path, info.Size(), maxObjectSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, len(elf.ELFMAG))
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != elf.ELFMAG {
		return nil, &FormatError{Object: path, Msg: "not an ELF file"}
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes a little-endian ELF64 relocatable object. name is used in
// error messages. Malformed input yields a *FormatError, never a panic.
func Parse(name string, data []byte) (*File, error) {
	r := &reader{name: name, data: data}
	return r.parse()
}

type reader struct {
	name     string
	data     []byte
	f        *File
	headers  []elf.Section64
	symtab   *Section
	symbols  []*Symbol // by index, with nil at 0
	sections []*Section
}

func (r *reader) errorf(off int64, format string, args ...any) error {
	return &FormatError{Object: r.name, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) parse() (*File, error) {
	steps := []func() error{
		r.readHeader,
		r.readSections,
		r.readSymbols,
		r.readLinks,
		r.readRelocs,
		r.readGroups,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return r.f, nil
}

func (r *reader) readHeader() error {
	if len(r.data) < headerSize {
		return r.errorf(0, "file too short for an ELF header (%d bytes)", len(r.data))
	}
	if !bytes.Equal(r.data[:4], []byte(elf.ELFMAG)) {
		return r.errorf(0, "not an ELF file")
	}
	if elf.Class(r.data[elf.EI_CLASS]) != elf.ELFCLASS64 || elf.Data(r.data[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return r.errorf(int64(elf.EI_CLASS), "not a little-endian 64-bit ELF file")
	}
	var h elf.Header64
	binary.Decode(r.data, binary.LittleEndian, &h)
	if elf.Type(h.Type) != elf.ET_REL {
		return r.errorf(16, "ELF type %v, want a relocatable object (ET_REL)", elf.Type(h.Type))
	}
	if elf.Machine(h.Machine) != elf.EM_X86_64 {
		return r.errorf(18, "machine %v, want x86-64", elf.Machine(h.Machine))
	}
	if h.Shentsize != sectionSize {
		return r.errorf(58, "section header size %d, want %d", h.Shentsize, sectionSize)
	}
	r.f = &File{Name: r.name, OSABI: elf.OSABI(h.Ident[elf.EI_OSABI]), Machine: elf.EM_X86_64, Flags: h.Flags}
	return r.readSectionHeaders(h)
}

func (r *reader) readSectionHeaders(h elf.Header64) error {
	count := uint64(h.Shnum)
	end := h.Shoff + count*sectionSize
	if h.Shoff > uint64(len(r.data)) || end > uint64(len(r.data)) || end < h.Shoff {
		return r.errorf(40, "section headers at %#x (%d entries) lie outside the file", h.Shoff, count)
	}
	if count == 0 {
		return r.errorf(60, "no section headers")
	}
	r.headers = make([]elf.Section64, count)
	for i := range r.headers {
		binary.Decode(r.data[h.Shoff+uint64(i)*sectionSize:], binary.LittleEndian, &r.headers[i])
	}
	if int(h.Shstrndx) >= len(r.headers) {
		return r.errorf(62, "section name table index %d out of range", h.Shstrndx)
	}
	return r.checkNames(int(h.Shstrndx), h.Shoff)
}

func (r *reader) checkNames(shstrndx int, shoff uint64) error {
	names, err := r.sectionBytes(shstrndx, shoff)
	if err != nil {
		return err
	}
	r.sections = make([]*Section, len(r.headers))
	for i := 1; i < len(r.headers); i++ {
		name, ok := cstring(names, r.headers[i].Name)
		if !ok {
			return r.errorf(int64(shoff)+int64(i)*sectionSize, "section %d: name offset %d out of range", i, r.headers[i].Name)
		}
		r.sections[i] = &Section{Name: name, Index: i}
	}
	return nil
}

// sectionBytes returns the raw contents of section i.
func (r *reader) sectionBytes(i int, shoff uint64) ([]byte, error) {
	h := r.headers[i]
	if elf.SectionType(h.Type) == elf.SHT_NOBITS {
		return nil, nil
	}
	end := h.Off + h.Size
	if h.Off > uint64(len(r.data)) || end > uint64(len(r.data)) || end < h.Off {
		return nil, r.errorf(int64(shoff)+int64(i)*sectionSize, "section %d: contents at %#x (%d bytes) lie outside the file", i, h.Off, h.Size)
	}
	return r.data[h.Off:end], nil
}

func (r *reader) readSections() error {
	shoff := r.shoff()
	for i := 1; i < len(r.headers); i++ {
		h := r.headers[i]
		s := r.sections[i]
		s.Type = elf.SectionType(h.Type)
		s.Flags = elf.SectionFlag(h.Flags)
		s.Addr, s.Align, s.EntSize = h.Addr, h.Addralign, h.Entsize
		if !validAlign(s.Align) {
			return r.errorf(r.headerOffset(i), "section %q: alignment %d is not a power of two up to %d", s.Name, s.Align, maxAlign)
		}
		s.RawLink, s.RawInfo = h.Link, h.Info
		data, err := r.sectionBytes(i, shoff)
		if err != nil {
			return err
		}
		s.Data = data
		if s.Type == elf.SHT_NOBITS {
			s.Size = h.Size
		}
		if s.Type == elf.SHT_SYMTAB {
			if r.symtab != nil {
				return r.errorf(r.headerOffset(i), "second symbol table %q", s.Name)
			}
			r.symtab = s
		}
		r.f.Sections = append(r.f.Sections, s)
	}
	return nil
}

func (r *reader) shoff() uint64 {
	return binary.LittleEndian.Uint64(r.data[40:])
}

func (r *reader) headerOffset(i int) int64 {
	return int64(r.shoff()) + int64(i)*sectionSize
}

func (r *reader) readSymbols() error {
	r.symbols = []*Symbol{nil}
	if r.symtab == nil {
		return nil
	}
	s := r.symtab
	strtab, err := r.linkedStrtab(s)
	if err != nil {
		return err
	}
	s.Link = r.sections[s.RawLink]
	if len(s.Data)%symbolSize != 0 {
		return r.errorf(int64(r.headers[s.Index].Off), "symbol table size %d is not a multiple of %d", len(s.Data), symbolSize)
	}
	for i := 1; i < len(s.Data)/symbolSize; i++ {
		y, err := r.decodeSymbol(s, strtab, i)
		if err != nil {
			return err
		}
		r.symbols = append(r.symbols, y)
		r.f.Symbols = append(r.f.Symbols, y)
	}
	return nil
}

func (r *reader) linkedStrtab(s *Section) ([]byte, error) {
	link := int(r.headers[s.Index].Link)
	if link <= 0 || link >= len(r.sections) || r.sections[link].Type != elf.SHT_STRTAB {
		return nil, r.errorf(r.headerOffset(s.Index), "section %q: link %d is not a string table", s.Name, link)
	}
	return r.sections[link].Data, nil
}

func (r *reader) decodeSymbol(s *Section, strtab []byte, i int) (*Symbol, error) {
	off := int64(r.headers[s.Index].Off) + int64(i)*symbolSize
	var raw elf.Sym64
	binary.Decode(s.Data[i*symbolSize:], binary.LittleEndian, &raw)
	name, ok := cstring(strtab, raw.Name)
	if !ok {
		return nil, r.errorf(off, "symbol %d: name offset %d out of range", i, raw.Name)
	}
	y := &Symbol{
		Name:  name,
		Type:  elf.ST_TYPE(raw.Info),
		Bind:  elf.ST_BIND(raw.Info),
		Other: raw.Other,
		Value: raw.Value,
		Size:  raw.Size,
		Index: i,
	}
	shndx := elf.SectionIndex(raw.Shndx)
	switch {
	case shndx == elf.SHN_XINDEX:
		return nil, r.errorf(off, "symbol %q: extended section indexes (SHN_XINDEX) are not supported", name)
	case shndx == elf.SHN_UNDEF || shndx >= elf.SHN_LORESERVE:
		y.Shndx = shndx
	case int(shndx) < len(r.sections):
		y.Section = r.sections[shndx]
	default:
		return nil, r.errorf(off, "symbol %q: section index %d out of range", name, shndx)
	}
	return y, nil
}

// readLinks resolves sh_link and sh_info where they name sections.
func (r *reader) readLinks() error {
	for _, s := range r.f.Sections {
		if s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_RELA || s.Type == elf.SHT_GROUP {
			continue // their links are rebuilt from the symbol table
		}
		if s.Flags&elf.SHF_LINK_ORDER != 0 {
			sec, err := r.sectionAt(s, s.RawLink, "link")
			if err != nil {
				return err
			}
			s.Link = sec
		}
		if s.Flags&elf.SHF_INFO_LINK != 0 {
			sec, err := r.sectionAt(s, s.RawInfo, "info")
			if err != nil {
				return err
			}
			s.Info = sec
		}
	}
	return nil
}

func (r *reader) sectionAt(s *Section, index uint32, field string) (*Section, error) {
	if index == 0 || int(index) >= len(r.sections) {
		return nil, r.errorf(r.headerOffset(s.Index), "section %q: %s %d out of range", s.Name, field, index)
	}
	return r.sections[index], nil
}

func (r *reader) readRelocs() error {
	for _, s := range r.f.Sections {
		if s.Type == elf.SHT_REL {
			return r.errorf(r.headerOffset(s.Index), "section %q: SHT_REL relocations are not used on x86-64", s.Name)
		}
		if s.Type != elf.SHT_RELA {
			continue
		}
		if err := r.readRelaSection(s); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) readRelaSection(s *Section) error {
	if r.symtab == nil || int(s.RawLink) != r.symtab.Index {
		return r.errorf(r.headerOffset(s.Index), "section %q: link %d is not the symbol table", s.Name, s.RawLink)
	}
	target, err := r.sectionAt(s, s.RawInfo, "info")
	if err != nil {
		return err
	}
	s.Info = target
	if len(s.Data)%relaSize != 0 {
		return r.errorf(int64(r.headers[s.Index].Off), "section %q: size %d is not a multiple of %d", s.Name, len(s.Data), relaSize)
	}
	s.Relocs = make([]Reloc, 0, len(s.Data)/relaSize)
	for i := 0; i < len(s.Data)/relaSize; i++ {
		rel, err := r.decodeReloc(s, target, i)
		if err != nil {
			return err
		}
		s.Relocs = append(s.Relocs, rel)
	}
	s.Data = nil
	return nil
}

func (r *reader) decodeReloc(s, target *Section, i int) (Reloc, error) {
	off := int64(r.headers[s.Index].Off) + int64(i)*relaSize
	var raw elf.Rela64
	binary.Decode(s.Data[i*relaSize:], binary.LittleEndian, &raw)
	symIndex := int(elf.R_SYM64(raw.Info))
	if symIndex >= len(r.symbols) {
		return Reloc{}, r.errorf(off, "section %q: relocation %d: symbol index %d out of range", s.Name, i, symIndex)
	}
	typ := elf.R_X86_64(elf.R_TYPE64(raw.Info))
	if typ > elf.R_X86_64_REX_GOTPCRELX {
		return Reloc{}, r.errorf(off, "section %q: relocation %d: type %d is not a known x86-64 relocation type", s.Name, i, typ)
	}
	width := RelocSize(typ)
	if size := target.SectionSize(); raw.Off > size || uint64(width) > size-raw.Off {
		return Reloc{}, r.errorf(off, "section %q: relocation %d at %#x (%d bytes) lies outside %q (%d bytes)", s.Name, i, raw.Off, width, target.Name, size)
	}
	return Reloc{Offset: raw.Off, Type: typ, Symbol: r.symbols[symIndex], Addend: raw.Addend}, nil
}

func (r *reader) readGroups() error {
	for _, s := range r.f.Sections {
		if s.Type != elf.SHT_GROUP {
			continue
		}
		if err := r.readGroup(s); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) readGroup(s *Section) error {
	at := r.headerOffset(s.Index)
	if len(s.Data) < 4 || len(s.Data)%4 != 0 {
		return r.errorf(at, "group %q: size %d is not a positive multiple of 4", s.Name, len(s.Data))
	}
	if int(s.RawInfo) == 0 || int(s.RawInfo) >= len(r.symbols) {
		return r.errorf(at, "group %q: signature symbol %d out of range", s.Name, s.RawInfo)
	}
	s.InfoSym = r.symbols[s.RawInfo]
	s.GroupFlag = binary.LittleEndian.Uint32(s.Data)
	for i := 4; i < len(s.Data); i += 4 {
		member, err := r.sectionAt(s, binary.LittleEndian.Uint32(s.Data[i:]), "member")
		if err != nil {
			return err
		}
		s.Members = append(s.Members, member)
	}
	s.Data = nil
	return nil
}

// cstring returns the NUL-terminated string at off in table.
func cstring(table []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(table)) {
		return "", off == 0 && len(table) == 0
	}
	end := bytes.IndexByte(table[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(table[off : off+uint32(end)]), true
}

// RelocSize returns how many bytes a relocation of type t writes.
func RelocSize(t elf.R_X86_64) int {
	switch t {
	case elf.R_X86_64_NONE:
		return 0
	case elf.R_X86_64_8, elf.R_X86_64_PC8:
		return 1
	case elf.R_X86_64_16, elf.R_X86_64_PC16:
		return 2
	case elf.R_X86_64_64, elf.R_X86_64_PC64, elf.R_X86_64_GOTOFF64, elf.R_X86_64_GOTPC64,
		elf.R_X86_64_SIZE64, elf.R_X86_64_DTPOFF64, elf.R_X86_64_TPOFF64, elf.R_X86_64_DTPMOD64:
		return 8
	default:
		return 4
	}
}

// maxAlign is the largest section alignment accepted; kernel objects use
// at most a page.
const maxAlign = 1 << 16

func validAlign(a uint64) bool {
	return a <= maxAlign && a&(a-1) == 0
}
