package elfobj

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Bytes encodes f as an ELF64 relocatable object. It numbers the sections
// in order, puts local symbols before global ones as the ELF format
// requires, and rebuilds the symbol, string, relocation and group tables.
func (f *File) Bytes() ([]byte, error) {
	w := &writer{f: f}
	return w.write()
}

// WriteFile writes f to path through a temporary file in the same
// directory, so a failed write leaves no partial object behind.
func (f *File) WriteFile(path string) error {
	data, err := f.Bytes()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type writer struct {
	f        *File
	symtab   *Section
	strtab   *Section
	shstrtab *Section
	symbols  []*Symbol // in output order, without the null symbol
	locals   int       // count of local symbols including the null symbol
	names    stringTable
}

func (w *writer) write() ([]byte, error) {
	if err := w.findTables(); err != nil {
		return nil, err
	}
	w.numberSections()
	w.orderSymbols()
	steps := []func() error{w.encodeSymbols, w.encodeRelocs, w.encodeGroups, w.encodeNames}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.f.Name, err)
		}
	}
	return w.layout()
}

// findTables finds or adds the symbol table and the two string tables.
func (w *writer) findTables() error {
	for _, s := range w.f.Sections {
		switch {
		case s.Type == elf.SHT_SYMTAB:
			w.symtab = s
		case s.Name == ".shstrtab" && s.Type == elf.SHT_STRTAB:
			w.shstrtab = s
		}
	}
	if w.symtab == nil {
		w.symtab = &Section{Name: ".symtab", Type: elf.SHT_SYMTAB, Align: 8, EntSize: symbolSize}
		w.f.Sections = append(w.f.Sections, w.symtab)
	}
	w.strtab = w.symtab.Link
	if w.strtab == nil || w.strtab == w.shstrtab {
		w.strtab = &Section{Name: ".strtab", Type: elf.SHT_STRTAB, Align: 1}
		w.f.Sections = append(w.f.Sections, w.strtab)
		w.symtab.Link = w.strtab
	}
	if w.shstrtab == nil {
		w.shstrtab = &Section{Name: ".shstrtab", Type: elf.SHT_STRTAB, Align: 1}
		w.f.Sections = append(w.f.Sections, w.shstrtab)
	}
	return nil
}

func (w *writer) numberSections() {
	for i, s := range w.f.Sections {
		s.Index = i + 1
	}
}

// orderSymbols puts local symbols first, each group in its existing order.
func (w *writer) orderSymbols() {
	w.symbols = append(w.symbols[:0], w.f.Symbols...)
	sort.SliceStable(w.symbols, func(i, j int) bool {
		return isLocal(w.symbols[i]) && !isLocal(w.symbols[j])
	})
	w.locals = 1
	for i, y := range w.symbols {
		y.Index = i + 1
		if isLocal(y) {
			w.locals++
		}
	}
	w.f.Symbols = append(w.f.Symbols[:0], w.symbols...)
}

func isLocal(y *Symbol) bool { return y.Bind == elf.STB_LOCAL }

func (w *writer) encodeSymbols() error {
	var names stringTable
	var buf bytes.Buffer
	buf.Write(make([]byte, symbolSize))
	for _, y := range w.symbols {
		shndx, err := w.symbolShndx(y)
		if err != nil {
			return err
		}
		raw := elf.Sym64{
			Name:  names.add(y.Name),
			Info:  elf.ST_INFO(y.Bind, y.Type),
			Other: y.Other,
			Shndx: uint16(shndx),
			Value: y.Value,
			Size:  y.Size,
		}
		binary.Write(&buf, binary.LittleEndian, &raw)
	}
	w.symtab.Data = buf.Bytes()
	w.symtab.EntSize = symbolSize
	w.symtab.RawInfo = uint32(w.locals)
	w.strtab.Data = names.bytes()
	return nil
}

func (w *writer) symbolShndx(y *Symbol) (elf.SectionIndex, error) {
	if y.Section == nil {
		return y.Shndx, nil
	}
	if !w.contains(y.Section) {
		return 0, fmt.Errorf("symbol %q: section %q is not in the file", y.Name, y.Section.Name)
	}
	if y.Section.Index >= int(elf.SHN_LORESERVE) {
		return 0, fmt.Errorf("symbol %q: section index %d needs extended indexes, which are not supported", y.Name, y.Section.Index)
	}
	return elf.SectionIndex(y.Section.Index), nil
}

func (w *writer) contains(s *Section) bool {
	i := s.Index - 1
	return i >= 0 && i < len(w.f.Sections) && w.f.Sections[i] == s
}

func (w *writer) containsSymbol(y *Symbol) bool {
	i := y.Index - 1
	return i >= 0 && i < len(w.symbols) && w.symbols[i] == y
}

func (w *writer) encodeRelocs() error {
	for _, s := range w.f.Sections {
		if s.Type != elf.SHT_RELA {
			continue
		}
		if s.Info == nil || !w.contains(s.Info) {
			return fmt.Errorf("relocation section %q: target section is not in the file", s.Name)
		}
		var buf bytes.Buffer
		for i, rel := range s.Relocs {
			symIndex := 0
			if rel.Symbol != nil {
				if !w.containsSymbol(rel.Symbol) {
					return fmt.Errorf("relocation section %q: entry %d: symbol %q is not in the symbol table", s.Name, i, rel.Symbol.Name)
				}
				symIndex = rel.Symbol.Index
			}
			raw := elf.Rela64{Off: rel.Offset, Info: elf.R_INFO(uint32(symIndex), uint32(rel.Type)), Addend: rel.Addend}
			binary.Write(&buf, binary.LittleEndian, &raw)
		}
		s.Data = buf.Bytes()
		s.EntSize = relaSize
		s.Link = w.symtab
		s.Flags |= elf.SHF_INFO_LINK
	}
	return nil
}

func (w *writer) encodeGroups() error {
	for _, s := range w.f.Sections {
		if s.Type != elf.SHT_GROUP {
			continue
		}
		if s.InfoSym == nil || !w.containsSymbol(s.InfoSym) {
			return fmt.Errorf("group %q: signature symbol is not in the symbol table", s.Name)
		}
		buf := binary.LittleEndian.AppendUint32(nil, s.GroupFlag)
		for _, m := range s.Members {
			if !w.contains(m) {
				return fmt.Errorf("group %q: member %q is not in the file", s.Name, m.Name)
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(m.Index))
		}
		s.Data = buf
		s.Link = w.symtab
		s.RawInfo = uint32(s.InfoSym.Index)
		s.EntSize = 4
	}
	return nil
}

func (w *writer) encodeNames() error {
	for _, s := range w.f.Sections {
		w.names.add(s.Name)
	}
	w.shstrtab.Data = w.names.bytes()
	return nil
}

// layout places the header, each section's data and the section headers.
func (w *writer) layout() ([]byte, error) {
	out := make([]byte, headerSize)
	headers := make([]elf.Section64, len(w.f.Sections)+1)
	for i, s := range w.f.Sections {
		if !validAlign(s.Align) {
			return nil, fmt.Errorf("section %q: alignment %d is not a power of two up to %d", s.Name, s.Align, maxAlign)
		}
		h, err := w.sectionHeader(s)
		if err != nil {
			return nil, err
		}
		if s.Type != elf.SHT_NOBITS {
			out = pad(out, max(s.Align, 1))
			h.Off = uint64(len(out))
			out = append(out, s.Data...)
		} else {
			h.Off = uint64(len(out))
		}
		headers[i+1] = h
	}
	out = pad(out, 8)
	shoff := uint64(len(out))
	for i := range headers {
		out, _ = binary.Append(out, binary.LittleEndian, &headers[i])
	}
	w.writeHeader(out, shoff, len(headers))
	return out, nil
}

func (w *writer) sectionHeader(s *Section) (elf.Section64, error) {
	h := elf.Section64{
		Name:      0,
		Type:      uint32(s.Type),
		Flags:     uint64(s.Flags),
		Addr:      s.Addr,
		Size:      s.SectionSize(),
		Link:      s.RawLink,
		Info:      s.RawInfo,
		Addralign: s.Align,
		Entsize:   s.EntSize,
	}
	h.Name = w.names.add(s.Name)
	if s.Link != nil {
		if !w.contains(s.Link) {
			return h, fmt.Errorf("section %q: linked section %q is not in the file", s.Name, s.Link.Name)
		}
		h.Link = uint32(s.Link.Index)
	}
	if s.Info != nil && s.Type != elf.SHT_GROUP {
		if !w.contains(s.Info) {
			return h, fmt.Errorf("section %q: info section %q is not in the file", s.Name, s.Info.Name)
		}
		h.Info = uint32(s.Info.Index)
	}
	return h, nil
}

func (w *writer) writeHeader(out []byte, shoff uint64, count int) {
	var h elf.Header64
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	h.Ident[elf.EI_OSABI] = byte(w.f.OSABI)
	h.Type = uint16(elf.ET_REL)
	h.Machine = uint16(elf.EM_X86_64)
	h.Version = uint32(elf.EV_CURRENT)
	h.Flags = w.f.Flags
	h.Shoff = shoff
	h.Ehsize = headerSize
	h.Shentsize = sectionSize
	h.Shnum = uint16(count)
	h.Shstrndx = uint16(w.shstrtab.Index)
	binary.Encode(out, binary.LittleEndian, &h)
}

func pad(b []byte, align uint64) []byte {
	if rem := uint64(len(b)) % align; rem != 0 {
		b = append(b, make([]byte, align-rem)...)
	}
	return b
}

// stringTable builds an ELF string table, sharing identical strings.
type stringTable struct {
	buf    []byte
	offset map[string]uint32
}

func (t *stringTable) add(s string) uint32 {
	if t.offset == nil {
		t.buf = []byte{0}
		t.offset = map[string]uint32{"": 0}
	}
	if off, ok := t.offset[s]; ok {
		return off
	}
	off := uint32(len(t.buf))
	t.buf = append(append(t.buf, s...), 0)
	t.offset[s] = off
	return off
}

func (t *stringTable) bytes() []byte {
	t.add("")
	return t.buf
}
