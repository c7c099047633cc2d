package objdiff

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// perSiteStatics are the static locals that kernel macros define once per
// use: lockdep class keys (__key), ratelimit states (_rs), WARN_ONCE and
// printk_once flags, __func__, switch tables (CSWTCH) and printk index
// entries (_entry). Code depends on their contents, not on which copy it
// uses. So when the running kernel's copy cannot be matched, the patch may
// carry a fresh copy. A fresh copy only restarts a ratelimit, repeats a
// once-only warning or adds a lockdep class.
var perSiteStatics = map[string]bool{
	"__key":          true,
	"_rs":            true,
	"__warned":       true,
	"__already_done": true,
	"__print_once":   true,
	"__func__":       true,
	"__FUNCTION__":   true,
	"CSWTCH":         true,
	"_entry":         true,
}

// dynamicDebugSection holds the descriptors of pr_debug() sites.
const dynamicDebugSection = "__dyndbg"

// isPerSiteStatic reports whether y is a static local of a kernel macro,
// named as gcc names it ("__key.12") or as clang does, after the function
// ("init_srcu_struct_fields.__key.12").
func isPerSiteStatic(y *elfobj.Symbol) bool {
	if y.Bind != elf.STB_LOCAL || y.Type != elf.STT_OBJECT {
		return false
	}
	if y.Section != nil && y.Section.Name == dynamicDebugSection {
		return true
	}
	return perSiteStatics[staticBaseName(y.Name)]
}

// staticBaseName returns a static local's name without the compiler's
// number and without the function name clang puts in front of it.
func staticBaseName(name string) string {
	name, _ = stripLocalNumber(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// ddebugLineOffset and ddebugLineMask locate the line number in Linux
// 6.1's struct _ddebug: the low 18 bits of the 32-bit word after the
// module, function, file and format pointers.
const ddebugLineOffset, ddebugLineMask = 32, 0x3ffff

// withoutLineNumbers returns the bytes of a per-site static with the line
// number of a dynamic debug descriptor cleared.
//
// NOTE: the offset is that of Linux 6.1's struct _ddebug. In a kernel with
// another layout the line number lies elsewhere, so a descriptor that only
// moved compares as changed.
func withoutLineNumbers(y *elfobj.Symbol) []byte {
	data := bytes.Clone(symbolBytes(y))
	if y.Section.Name != dynamicDebugSection || len(data) < ddebugLineOffset+4 {
		return data
	}
	word := binary.LittleEndian.Uint32(data[ddebugLineOffset:])
	binary.LittleEndian.PutUint32(data[ddebugLineOffset:], word&^ddebugLineMask)
	return data
}
