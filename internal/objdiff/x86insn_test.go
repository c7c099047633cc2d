package objdiff

import (
	"debug/elf"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/elfobj"
)

func TestInsnLength(t *testing.T) {
	cases := []struct {
		asm  string
		code []byte
		want int
	}{
		{"ret", []byte{0xc3}, 1},
		{"call rel32", []byte{0xe8, 0, 0, 0, 0}, 5},
		{"mov $0x38b,%esi", []byte{0xbe, 0x8b, 0x03, 0, 0}, 5},
		{"movabs $imm64,%rax", []byte{0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, 10},
		{"mov $imm16,%ax", []byte{0x66, 0xb8, 1, 2}, 4},
		{"mov $0x0,%rdi", []byte{0x48, 0xc7, 0xc7, 0, 0, 0, 0}, 7},
		{"cmpb $0x0,rip+disp32", []byte{0x80, 0x3d, 0, 0, 0, 0, 0}, 7},
		{"lea 0x1(%rbx),%eax", []byte{0x8d, 0x43, 0x01}, 3},
		{"mov (%rsp,%rax,8),%rdx", []byte{0x48, 0x8b, 0x14, 0xc4}, 4},
		{"mov disp32(,%rax,8),%rdx", []byte{0x48, 0x8b, 0x14, 0xc5, 0, 0, 0, 0}, 8},
		{"testb $0x1,(%rdi)", []byte{0xf6, 0x07, 0x01}, 3},
		{"notl (%rdi)", []byte{0xf7, 0x17}, 2},
		{"testl $imm32,%edi", []byte{0xf7, 0xc7, 1, 2, 3, 4}, 6},
		{"jne rel32", []byte{0x0f, 0x85, 0, 0, 0, 0}, 6},
		{"nopw 0x0(%rax,%rax,1)", []byte{0x66, 0x0f, 0x1f, 0x44, 0, 0}, 6},
		{"ud2", []byte{0x0f, 0x0b}, 2},
		{"lock cmpxchg %edx,(%rdi)", []byte{0xf0, 0x0f, 0xb1, 0x17}, 4},
		{"pshufd $0x1b,%xmm0,%xmm1", []byte{0x66, 0x0f, 0x70, 0xc8, 0x1b}, 5},
		{"pextrd $1,%xmm0,%eax", []byte{0x66, 0x0f, 0x3a, 0x16, 0xc0, 0x01}, 6},
		{"vpxor %ymm0,%ymm0,%ymm0", []byte{0xc5, 0xfd, 0xef, 0xc0}, 4},
		{"vpcmpeqb (%rdi),%ymm0,%ymm1", []byte{0xc4, 0xe1, 0x7d, 0x74, 0x0f}, 5},
		{"enter $0x10,$0", []byte{0xc8, 0x10, 0, 0}, 4},
		{"truncated call", []byte{0xe8, 0, 0}, 0},
		{"invalid in 64-bit mode", []byte{0x06}, 0},
		{"only prefixes", []byte{0x66, 0x66}, 0},
	}
	for _, c := range cases {
		if got := insnLength(c.code); got != c.want {
			t.Errorf("%s: length %d, want %d", c.asm, got, c.want)
		}
	}
}

var objdumpAddress = regexp.MustCompile(`^\s*([0-9a-f]+):\t`)

// insnCorpusObjects are the corpus objects whose code the objdump check
// walks: gcc and clang output with WARN and might_sleep sites.
var insnCorpusObjects = []string{"warn-detect.ORIG.o", "line-detect-issue-1253.ORIG.o", "clang-lstr.ORIG.o", "altinstr_aux.ORIG.o"}

// TestInsnLengthObjdump walks every function of the fixtures and of some
// corpus objects and checks that each instruction starts where objdump
// starts one.
func TestInsnLengthObjdump(t *testing.T) {
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Skip("objdump not found")
	}
	paths, _ := filepath.Glob("testdata/*.o")
	for _, name := range insnCorpusObjects {
		paths = append(paths, filepath.Join(corpusDir, name))
	}
	for _, path := range paths {
		f, err := elfobj.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Sections {
			if s.Flags&elf.SHF_EXECINSTR != 0 && len(s.Data) > 0 {
				checkInsnBoundaries(t, path, f, s)
			}
		}
	}
}

func checkInsnBoundaries(t *testing.T, path string, f *elfobj.File, s *elfobj.Section) {
	out, err := exec.Command("objdump", "-d", "-w", "-j", s.Name, path).Output()
	if err != nil {
		t.Fatalf("objdump %s %s: %v", path, s.Name, err)
	}
	starts := map[uint64]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "(bad)") {
			return
		}
		if m := objdumpAddress.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseUint(m[1], 16, 64)
			starts[v] = true
		}
	}
	for _, y := range f.Symbols {
		if y.Section != s || y.Type != elf.STT_FUNC {
			continue
		}
		for off := y.Value; off < y.Value+y.Size; {
			n := insnLength(s.Data[off:])
			if n == 0 || !starts[off] {
				t.Errorf("%s: %s+%#x: decoded length %d where objdump does not agree", path, y.Name, off-y.Value, n)
				break
			}
			off += uint64(n)
		}
	}
}
