package elfobj

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const sampleC = `
#include <stdio.h>
static int counter;
static const char *greeting = "hello";
static int bump(int n) { counter += n; return counter; }
int visible(int n) { return bump(n) * 2; }
int main(void) {
	printf("%s %d\n", greeting, visible(3));
	return 0;
}
`

// compileSeed builds src with gcc and returns the object's bytes.
func compileSeed(f *testing.F, src string) []byte {
	dir := f.TempDir()
	c := filepath.Join(dir, "seed.c")
	obj := filepath.Join(dir, "seed.o")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		f.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-c", "-O2", "-ffunction-sections", "-o", obj, c).CombinedOutput(); err != nil {
		f.Fatalf("gcc: %v\n%s", err, out)
	}
	data, err := os.ReadFile(obj)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// compile builds src with gcc into a relocatable object in a temp dir.
func compile(t *testing.T, src string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "sample.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "sample.o")
	args := append([]string{"-c", "-O2", "-ffunction-sections", "-fdata-sections", "-o", obj, c}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return obj
}

func roundTrip(t *testing.T, path string) (*File, []byte) {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	data, err := f.Bytes()
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return f, data
}

func TestRoundTripGCCObject(t *testing.T) {
	obj := compile(t, sampleC)
	_, data := roundTrip(t, obj)
	out := filepath.Join(t.TempDir(), "copy.o")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	compareWithStdlib(t, obj, out)
	compareReadelf(t, obj, out)

	exe := filepath.Join(t.TempDir(), "sample")
	if b, err := exec.Command("gcc", "-o", exe, out).CombinedOutput(); err != nil {
		t.Fatalf("link the written object: %v\n%s", err, b)
	}
	got, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatalf("run linked program: %v", err)
	}
	if string(got) != "hello 6\n" {
		t.Errorf("linked program printed %q, want %q", got, "hello 6\n")
	}
}

// compareWithStdlib checks that debug/elf reads the written object and
// finds the same number of symbols and the same section sizes as in the
// original.
func compareWithStdlib(t *testing.T, orig, copy string) {
	t.Helper()
	a, err := elf.Open(orig)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := elf.Open(copy)
	if err != nil {
		t.Fatalf("debug/elf cannot read the written object: %v", err)
	}
	defer b.Close()
	as, _ := a.Symbols()
	bs, err := b.Symbols()
	if err != nil {
		t.Fatalf("debug/elf symbols of written object: %v", err)
	}
	if len(as) != len(bs) {
		t.Fatalf("symbol count %d, want %d", len(bs), len(as))
	}
	names := func(f *elf.File) map[string]uint64 {
		m := map[string]uint64{}
		for _, s := range f.Sections {
			m[s.Name] = s.Size
		}
		return m
	}
	an, bn := names(a), names(b)
	for name, size := range an {
		if name == ".strtab" || name == ".shstrtab" || name == ".symtab" {
			continue
		}
		if bn[name] != size {
			t.Errorf("section %q: size %d, want %d", name, bn[name], size)
		}
	}
}

// compareReadelf checks that binutils decodes the same relocations.
func compareReadelf(t *testing.T, orig, copy string) {
	t.Helper()
	relocs := func(path string) string {
		out, err := exec.Command("readelf", "-W", "-r", path).Output()
		if err != nil {
			t.Fatalf("readelf -r %s: %v", path, err)
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 5 && strings.HasPrefix(f[2], "R_X86_64") {
				lines = append(lines, f[0]+" "+f[2]+" "+strings.Join(f[4:], " "))
			}
		}
		return strings.Join(lines, "\n")
	}
	if a, b := relocs(orig), relocs(copy); a != b {
		t.Errorf("readelf relocations differ\norig:\n%s\ncopy:\n%s", a, b)
	}
	if out, err := exec.Command("objdump", "-d", "-r", copy).CombinedOutput(); err != nil || bytes.Contains(out, []byte("warning")) {
		t.Errorf("objdump on written object: %v\n%s", err, out)
	}
}

func TestRoundTripPeerCorpus(t *testing.T) {
	paths, _ := filepath.Glob("../../../shared/peer-objs/x86_64/*.o")
	if len(paths) == 0 {
		t.Skip("no peer object corpus beside the repository")
	}
	for _, p := range paths {
		f, data := roundTrip(t, p)
		g, err := Parse(p, data)
		if err != nil {
			t.Errorf("%s: reread: %v", filepath.Base(p), err)
			continue
		}
		if len(g.Sections) != len(f.Sections) || len(g.Symbols) != len(f.Symbols) {
			t.Errorf("%s: reread has %d sections, %d symbols; want %d, %d", filepath.Base(p),
				len(g.Sections), len(g.Symbols), len(f.Sections), len(f.Symbols))
		}
		if _, err := elf.NewFile(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: debug/elf: %v", filepath.Base(p), err)
		}
	}
}

func TestEditAddsSymbolAndSection(t *testing.T) {
	f, err := Open(compile(t, sampleC))
	if err != nil {
		t.Fatal(err)
	}
	s := &Section{Name: ".klp.rela.vmlinux..text.visible", Type: elf.SHT_RELA, Flags: elf.SHF_ALLOC | SHFRelaLivepatch, Align: 8, Info: f.Section(".text.visible")}
	y := &Symbol{Name: ".klp.sym.vmlinux.counter,1", Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL, Shndx: SHNLivepatch}
	s.Relocs = []Reloc{{Offset: 0, Type: elf.R_X86_64_PC32, Symbol: y, Addend: -4}}
	f.Sections = append(f.Sections, s)
	f.Symbols = append(f.Symbols, y)
	data, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse("edited", data)
	if err != nil {
		t.Fatal(err)
	}
	rs := g.Section(".klp.rela.vmlinux..text.visible")
	if rs == nil || len(rs.Relocs) != 1 {
		t.Fatalf("klp relocation section missing after reread")
	}
	if rs.Flags&SHFRelaLivepatch == 0 {
		t.Errorf("flags %v lack SHF_RELA_LIVEPATCH", rs.Flags)
	}
	got := rs.Relocs[0].Symbol
	if got.Name != y.Name || got.Shndx != SHNLivepatch {
		t.Errorf("relocation symbol %q shndx %#x, want %q %#x", got.Name, got.Shndx, y.Name, SHNLivepatch)
	}
	if rs.Info.Name != ".text.visible" {
		t.Errorf("relocation target %q, want .text.visible", rs.Info.Name)
	}
}

// largeAddendC makes GCC emit R_X86_64_64 relocations whose addends do not
// fit in 32 bits, as in a kernel's __pa(empty_zero_page), which subtracts
// the kernel text base 0xffffffff80000000 from a symbol's address.
const largeAddendC = `
extern char page[];
unsigned long up = (unsigned long)page - 0xffffffff80000000UL;
unsigned long down = (unsigned long)page - 0x80000000UL;
unsigned long far = (unsigned long)page + 0x123456789aUL;
`

func TestLargeAddendsRoundTrip(t *testing.T) {
	obj := compile(t, largeAddendC)
	_, data := roundTrip(t, obj)
	g, err := Parse("copy", data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"up": 0x80000000, "down": -0x80000000, "far": 0x123456789a}
	for name, addend := range want {
		var rs *Section
		if s := g.Section(".data.rel." + name); s != nil {
			rs = g.RelocsFor(s)
		}
		if rs == nil || len(rs.Relocs) != 1 {
			t.Fatalf("%s: section .data.rel.%s with one relocation missing after reread", name, name)
		}
		r := rs.Relocs[0]
		if r.Type != elf.R_X86_64_64 || r.Symbol.Name != "page" || r.Addend != addend {
			t.Errorf("%s: relocation %v %s%+#x, want R_X86_64_64 page%+#x", name, r.Type, r.Symbol.Name, r.Addend, addend)
		}
	}
	out := filepath.Join(t.TempDir(), "copy.o")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	compareReadelf(t, obj, out)
}

func TestMalformedHeaders(t *testing.T) {
	good, err := os.ReadFile(compile(t, sampleC))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]byte) []byte{
		"empty":           func(b []byte) []byte { return nil },
		"truncated":       func(b []byte) []byte { return b[:100] },
		"bad magic":       func(b []byte) []byte { b[0] = 0; return b },
		"shoff past end":  func(b []byte) []byte { b[40] = 0xff; b[41] = 0xff; b[42] = 0xff; return b },
		"shstrndx":        func(b []byte) []byte { b[62] = 0xff; return b },
		"cut section hdr": func(b []byte) []byte { return b[:len(b)-10] },
	}
	for name, corrupt := range cases {
		data := corrupt(bytes.Clone(good))
		_, err := Parse("bad.o", data)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// sectionOffset returns the file offset of the first section of type typ in
// the object data.
func sectionOffset(t *testing.T, data []byte, typ elf.SectionType) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.Sections {
		if s.Type == typ {
			return int(s.Offset)
		}
	}
	t.Fatalf("no section of type %v", typ)
	return 0
}

func TestMalformedEntries(t *testing.T) {
	good, err := os.ReadFile(compile(t, sampleC))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		corrupt func(t *testing.T, b []byte)
		message string
	}{
		"unknown relocation type": {
			// r_info's low byte is the type, 8 bytes into the first entry.
			corrupt: func(t *testing.T, b []byte) { b[sectionOffset(t, b, elf.SHT_RELA)+8] = 0xff },
			message: "type 255 is not a known x86-64 relocation type",
		},
		"extended section index": {
			// st_shndx is 6 bytes into an entry. Entry 1 follows the null
			// symbol.
			corrupt: func(t *testing.T, b []byte) {
				at := sectionOffset(t, b, elf.SHT_SYMTAB) + symbolSize + 6
				b[at], b[at+1] = 0xff, 0xff
			},
			message: "SHN_XINDEX",
		},
	}
	for name, c := range cases {
		data := bytes.Clone(good)
		c.corrupt(t, data)
		_, err := Parse("bad.o", data)
		if err == nil || !strings.Contains(err.Error(), c.message) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.message)
		}
	}
}

func TestOpenChecksFileFirst(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.o")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.o")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, maxObjectSize+1); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "text.o")
	if err := os.WriteFile(text, []byte("not an object\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		fifo: "not a regular file",
		dir:  "not a regular file",
		huge: "over the maximum object size",
		text: "not an ELF file",
	}
	for path, message := range cases {
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), message) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s) = %v, want an error naming the file and containing %q", path, err, message)
		}
	}
}

func FuzzParse(f *testing.F) {
	// The fuzzer slows down badly on large inputs, so the seeds are small
	// objects from the real compiler.
	for _, src := range []string{sampleC, "int x; int f(void) { return x; }\n"} {
		f.Add(compileSeed(f, src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Parse("fuzz.o", data)
		if err != nil {
			return
		}
		out, err := obj.Bytes()
		if err != nil {
			return
		}
		if _, err := Parse("rewritten.o", out); err != nil {
			t.Fatalf("written object does not parse: %v", err)
		}
	})
}
