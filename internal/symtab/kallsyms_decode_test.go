package symtab

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// kallsymsEntry is one entry of a compiled kallsyms table.
type kallsymsEntry struct {
	name string
	addr uint64
}

// decodeKallsyms reads the kallsyms table of a Linux 6.1 x86-64 vmlinux
// built with CONFIG_KALLSYMS_BASE_RELATIVE and
// CONFIG_KALLSYMS_ABSOLUTE_PERCPU, in the order the kernel iterates it.
func decodeKallsyms(path string) ([]kallsymsEntry, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	r, err := newAddrReader(f)
	if err != nil {
		return nil, err
	}

	n, err := r.uint32("kallsyms_num_syms")
	if err != nil {
		return nil, err
	}
	base, err := r.bytes("kallsyms_relative_base", 8)
	if err != nil {
		return nil, err
	}
	offsets, err := r.bytes("kallsyms_offsets", 4*int(n))
	if err != nil {
		return nil, err
	}
	names, err := r.span("kallsyms_names", "kallsyms_markers")
	if err != nil {
		return nil, err
	}
	tokens, err := r.span("kallsyms_token_table", "kallsyms_token_index")
	if err != nil {
		return nil, err
	}
	tokenIndex, err := r.bytes("kallsyms_token_index", 512)
	if err != nil {
		return nil, err
	}

	relativeBase := binary.LittleEndian.Uint64(base)
	entries := make([]kallsymsEntry, n)
	off := 0
	for i := range entries {
		var name string
		name, off, err = expandName(names, off, tokens, tokenIndex)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		offset := int32(binary.LittleEndian.Uint32(offsets[4*i:]))
		entries[i] = kallsymsEntry{name, entryAddr(offset, relativeBase)}
	}
	return entries, nil
}

// entryAddr applies the absolute-percpu rule: a non-negative offset is an
// absolute address, a negative one counts down from the relative base.
func entryAddr(offset int32, relativeBase uint64) uint64 {
	if offset >= 0 {
		return uint64(offset)
	}
	return relativeBase - 1 - uint64(int64(offset))
}

// expandName decodes the name at off and returns it with the offset of
// the next one. The first character of an expanded name is its nm type.
func expandName(names []byte, off int, tokens, tokenIndex []byte) (string, int, error) {
	if off >= len(names) {
		return "", 0, fmt.Errorf("offset %d: past the names", off)
	}
	length := int(names[off])
	off++
	if length&0x80 != 0 {
		length = length&0x7f | int(names[off])<<7
		off++
	}
	if off+length > len(names) {
		return "", 0, fmt.Errorf("offset %d: length %d past the names", off, length)
	}

	var buf []byte
	for _, b := range names[off : off+length] {
		start := int(binary.LittleEndian.Uint16(tokenIndex[2*int(b):]))
		for i := start; i < len(tokens) && tokens[i] != 0; i++ {
			buf = append(buf, tokens[i])
		}
	}
	if len(buf) == 0 {
		return "", 0, fmt.Errorf("offset %d: empty name", off)
	}
	return string(buf[1:]), off + length, nil
}

// addrReader reads the contents of vmlinux at symbol addresses.
type addrReader struct {
	f     *elf.File
	addrs map[string]uint64
}

func newAddrReader(f *elf.File) (*addrReader, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	r := &addrReader{f: f, addrs: make(map[string]uint64)}
	for _, s := range syms {
		if elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			r.addrs[s.Name] = s.Value
		}
	}
	return r, nil
}

func (r *addrReader) bytes(name string, n int) ([]byte, error) {
	addr, ok := r.addrs[name]
	if !ok {
		return nil, fmt.Errorf("symbol %q not found", name)
	}
	for _, sec := range r.f.Sections {
		if sec.Type == elf.SHT_PROGBITS && addr >= sec.Addr && addr+uint64(n) <= sec.Addr+sec.Size {
			buf := make([]byte, n)
			_, err := sec.ReadAt(buf, int64(addr-sec.Addr))
			return buf, err
		}
	}
	return nil, fmt.Errorf("symbol %q: %d bytes at %#x in no section", name, n, addr)
}

func (r *addrReader) span(from, to string) ([]byte, error) {
	start, end := r.addrs[from], r.addrs[to]
	if start == 0 || end <= start {
		return nil, fmt.Errorf("symbols %q and %q: no span", from, to)
	}
	return r.bytes(from, int(end-start))
}

func (r *addrReader) uint32(name string) (uint32, error) {
	buf, err := r.bytes(name, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(buf), nil
}
