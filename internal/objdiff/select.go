package objdiff

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// selectSections finds every section the patch must carry: the changed and
// new functions, and what they reference that the running kernel lacks,
// until nothing more is needed.
func (d *differ) selectSections() error {
	for fn := range d.changed {
		d.add(fn.Section)
	}
	for fn := range d.added {
		d.add(fn.Section)
	}
	for {
		d.drain()
		d.followSpecials()
		if len(d.queue) == 0 {
			return nil
		}
	}
}

func (d *differ) add(s *elfobj.Section) {
	if d.include[s] {
		return
	}
	d.include[s] = true
	d.queue = append(d.queue, s)
}

func (d *differ) drain() {
	for len(d.queue) > 0 {
		s := d.queue[0]
		d.queue = d.queue[1:]
		rs := d.patched.relocs[s]
		if rs == nil {
			continue
		}
		for _, rel := range rs.Relocs {
			d.follow(rel)
		}
	}
}

// followSpecials follows the relocations of the special entries that
// belong to carried code: their strings, replacement code and keys.
func (d *differ) followSpecials() {
	for _, sp := range d.specials {
		byEntry := d.entryRelocs(sp)
		for _, i := range d.keptEntries(sp, byEntry) {
			for _, rel := range byEntry[i] {
				d.follow(rel)
			}
		}
	}
}

// follow decides whether the target of one relocation must be carried:
// anonymous data such as string literals and replacement code is copied,
// new functions and variables are carried, and changed functions are
// carried in their new form. Everything else stays a reference to the
// running kernel.
func (d *differ) follow(rel elfobj.Reloc) {
	target, _ := d.patched.resolve(rel)
	if target == nil || target.Section == nil {
		return
	}
	s := target.Section
	switch {
	case d.specialFor(s) != nil || isDropped(s.Name):
		return
	case isVariable(target):
		d.followVariable(target)
	case d.include[s]:
		return
	case target.Type == elf.STT_SECTION || isAssemblerLabel(target) || isStringSection(s):
		d.add(s)
	case target.Type == elf.STT_FUNC:
		// A split part such as foo.cold jumps back into its parent, so
		// it travels with the parent that references it.
		if d.changed[target] || d.added[target] || d.match[target] == nil || isChild(target.Name) {
			d.add(s)
		}
	}
}

// followVariable decides for one named variable whether the patch carries
// a copy or uses the running kernel's. The decision is per variable, not
// per section: a section such as .data..read_mostly holds many variables,
// and carrying it for a new one must not redirect the others.
func (d *differ) followVariable(target *elfobj.Symbol) {
	switch {
	case d.carried[target]:
		return
	case isPerSiteStatic(target) && !d.sameAsMatch(target):
		d.carry(target)
	case d.rejectChangedNamesakes(target):
		return
	case d.match[target] != nil:
		return
	case d.ambiguous(target):
		d.reject(target.Name, "static variable cannot be matched with the running kernel's copy: several variables of the file share its name")
	case d.hasUnpairedNamesake(target):
		d.reject(target.Name, "static variable cannot be matched with the running kernel's copy: a variable of that name in the original build is used by other functions")
	default:
		d.carry(target)
	}
}

// rejectChangedNamesakes rejects target, and returns true, when the change
// adds or removes a static local of target's name in target's function.
func (d *differ) rejectChangedNamesakes(target *elfobj.Symbol) bool {
	patched, orig, changed := d.namesakesChanged(target)
	if changed {
		base, _ := stripLocalNumber(target.Name)
		d.reject(target.Name, fmt.Sprintf("static variable cannot be matched with the running kernel's copy: "+
			"the change takes the number of static variables named %s in %s from %d to %d, "+
			"so which of them the running kernel has is unknown", base, familyName(d.patched.owner[target]), orig, patched))
	}
	return changed
}

func (d *differ) carry(y *elfobj.Symbol) {
	d.carried[y] = true
	d.add(y.Section)
}

// isVariable reports whether y names a variable: a named symbol in a data
// section, as opposed to code, a section, an assembler label or a string.
func isVariable(y *elfobj.Symbol) bool {
	s := y.Section
	return y.Type != elf.STT_SECTION && y.Type != elf.STT_FUNC && y.Name != "" &&
		!isAssemblerLabel(y) && !isStringSection(s) && !hasFlag(s.Flags, elf.SHF_EXECINSTR)
}

// boundToKernel reports whether references to target go to the running
// kernel's copy even though the patch carries target's section.
func (d *differ) boundToKernel(target *elfobj.Symbol) bool {
	return target.Section != nil && isVariable(target) && !d.carried[target] && d.match[target] != nil
}

// isAssemblerLabel reports whether y is a label the assembler kept, such
// as ".LC0" for a constant or a string literal. Such labels name anonymous
// data, and the kernel's symbol table never lists them.
func isAssemblerLabel(y *elfobj.Symbol) bool {
	return y.Bind == elf.STB_LOCAL && strings.HasPrefix(y.Name, ".L")
}

// ambiguous reports whether target has no correlation because its key is
// shared by several symbols in either build.
func (d *differ) ambiguous(target *elfobj.Symbol) bool {
	k := d.patched.key[target]
	return len(d.patched.groups[k]) > 1 || len(d.orig.groups[k]) > 0
}

// sameAsMatch reports whether target has a correlated symbol in the
// original build with the same contents.
func (d *differ) sameAsMatch(target *elfobj.Symbol) bool {
	o := d.match[target]
	return o != nil && sameSymbol(d.orig, o, d.patched, target)
}
