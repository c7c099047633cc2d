package objdiff

import (
	"bytes"
	"debug/elf"
	"encoding/binary"

	"github.com/keepup/keepup/internal/elfobj"
)

// lineTakingFunctions take a source line number (__LINE__) as their second
// or third argument, so a patch that only moves their callers in the file
// changes an immediate operand of the callers' code.
var lineTakingFunctions = map[string]bool{
	"__warn_printk":             true,
	"__might_sleep":             true,
	"___might_sleep":            true,
	"__might_resched":           true,
	"__might_fault":             true,
	"printk":                    true,
	"_printk":                   true,
	"lockdep_rcu_suspicious":    true,
	"__btrfs_abort_transaction": true,
	"__btrfs_handle_fs_error":   true,
	"__btrfs_panic":             true,
}

// isLineNumberOnlyChange reports whether two functions whose sizes and
// relocations are equal differ only in line numbers passed to
// line-taking functions. Every differing instruction must load an
// immediate into the second or third argument register (mov $imm32, %esi
// or %edx), and the next call after it must be to a line-taking function.
// With moved, the original immediate must also be a line of the source
// that the change moved to the patched immediate, so that a changed
// constant passed the same way, as printk("%d", 5) becoming
// printk("%d", 6), counts as a change. Without it such a constant is
// taken for a line number.
func isLineNumberOnlyChange(patched *object, fn *elfobj.Symbol, orig, patchedCode []byte, moved func(int) (int, bool)) bool {
	if len(orig) != len(patchedCode) {
		return false
	}
	relocs := patched.relocsIn(fn)
	found := false
	for off := 0; off < len(orig); {
		n := insnLength(orig[off:])
		if n == 0 || insnLength(patchedCode[off:]) != n {
			return false
		}
		if !bytes.Equal(orig[off:off+n], patchedCode[off:off+n]) {
			if !isArgumentImmediateLoad(orig[off:off+n]) || !isArgumentImmediateLoad(patchedCode[off:off+n]) {
				return false
			}
			if !leadsToLineTakingCall(patched, relocs, fn.Value+uint64(off+n)) {
				return false
			}
			if moved != nil && !isMovedLine(orig[off:off+n], patchedCode[off:off+n], moved) {
				return false
			}
			found = true
		}
		off += n
	}
	return found
}

// isArgumentImmediateLoad reports whether insn is mov $imm32 into %esi or
// %edx, the second and third argument registers.
func isArgumentImmediateLoad(insn []byte) bool {
	return len(insn) == 5 && (insn[0] == 0xbe || insn[0] == 0xba)
}

// isMovedLine reports whether the immediates of two argument loads are a
// line of the original source and the line it moved to.
func isMovedLine(orig, patched []byte, moved func(int) (int, bool)) bool {
	from := binary.LittleEndian.Uint32(orig[1:])
	to := binary.LittleEndian.Uint32(patched[1:])
	line, ok := moved(int(from))
	return ok && uint32(line) == to
}

// leadsToLineTakingCall reports whether the first relocation at or after
// from, not counting the other arguments a line-taking call is passed,
// refers to a line-taking function.
func leadsToLineTakingCall(o *object, relocs []elfobj.Reloc, from uint64) bool {
	for _, rel := range relocs {
		if rel.Offset < from {
			continue
		}
		target, _ := o.resolve(rel)
		if target == nil {
			return false
		}
		if isCallArgumentData(target) {
			continue
		}
		return lineTakingFunctions[target.Name]
	}
	return false
}

// isCallArgumentData reports whether target is data that a WARN, printk
// or might_sleep site passes or sets beside its line number: a string
// literal, the function's name, or a flag that makes a warning print once.
func isCallArgumentData(target *elfobj.Symbol) bool {
	if s := target.Section; s != nil && (isStringSection(s) || isWarnOnceSection(s.Name)) {
		return true
	}
	if target.Type == elf.STT_SECTION {
		return false
	}
	switch staticBaseName(target.Name) {
	case "__warned", "__already_done", "__func__", "__print_once":
		return true
	}
	return false
}

func isWarnOnceSection(name string) bool {
	return name == ".data.once" || name == ".data..once" || name == ".data.unlikely" || name == ".data..unlikely"
}
