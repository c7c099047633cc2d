package objdiff

import (
	"debug/elf"
	"slices"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// correlateStaticsByUsers pairs the numbered static locals that keys left
// unpaired. That happens when a changed function starts or stops inlining
// the function that defines a static, so that another function is the
// first to use it. A patched static pairs with the one original static of
// the same name that a correlated function uses.
func (d *differ) correlateStaticsByUsers() {
	paired := map[*elfobj.Symbol]bool{}
	for _, o := range d.match {
		paired[o] = true
	}
	for _, y := range d.patched.f.Symbols {
		if d.match[y] != nil || !isNumberedStatic(y) {
			continue
		}
		candidates := d.staticCandidates(y, paired)
		if len(candidates) == 1 {
			d.pairStatic(y, candidates[0])
			paired[candidates[0]] = true
		}
	}
}

// pairStatic pairs y with o and gives y o's key, so that references to
// the two compare equal.
func (d *differ) pairStatic(y, o *elfobj.Symbol) {
	d.match[y] = o
	d.patched.key[y] = d.orig.key[o]
}

// staticCandidates returns the unpaired static locals of the original
// build that have y's name and are used by a function correlated with
// one that uses y.
func (d *differ) staticCandidates(y *elfobj.Symbol, paired map[*elfobj.Symbol]bool) []*elfobj.Symbol {
	var out []*elfobj.Symbol
	for _, o := range d.sameNamedStatics(y) {
		if paired[o] || slices.Contains(out, o) {
			continue
		}
		if d.sharesUser(y, o) {
			out = append(out, o)
		}
	}
	return out
}

// sameNamedStatics returns the numbered static locals of the original
// build with y's name and type, without the number.
func (d *differ) sameNamedStatics(y *elfobj.Symbol) []*elfobj.Symbol {
	base, _ := stripLocalNumber(y.Name)
	var out []*elfobj.Symbol
	for _, o := range d.orig.f.Symbols {
		if isNumberedStatic(o) && o.Type == y.Type {
			if b, _ := stripLocalNumber(o.Name); b == base {
				out = append(out, o)
			}
		}
	}
	return out
}

func (d *differ) sharesUser(y, o *elfobj.Symbol) bool {
	for _, fn := range d.patched.users[y] {
		if origFn := d.match[fn]; origFn != nil && slices.Contains(d.orig.users[o], origFn) {
			return true
		}
	}
	return false
}

func isNumberedStatic(y *elfobj.Symbol) bool {
	if y.Bind != elf.STB_LOCAL || y.Type != elf.STT_OBJECT || y.Section == nil {
		return false
	}
	_, numbered := stripLocalNumber(y.Name)
	return numbered
}

// hasUnpairedNamesake reports whether the original build has a numbered
// static local of target's name that no patched symbol pairs with, so
// that target may be the same variable under a key that changed.
func (d *differ) hasUnpairedNamesake(target *elfobj.Symbol) bool {
	if !isNumberedStatic(target) {
		return false
	}
	paired := map[*elfobj.Symbol]bool{}
	for _, o := range d.match {
		paired[o] = true
	}
	for _, o := range d.sameNamedStatics(target) {
		if !paired[o] {
			return true
		}
	}
	return false
}

// namesakeKey returns the key that groups a numbered static local with the
// others of its name in one function and that function's compiler parts.
// The key is the name without its number, "@", and the owning function's
// name up to its first dot.
func (o *object) namesakeKey(y *elfobj.Symbol) (string, bool) {
	fn := o.owner[y]
	if fn == nil || !isNumberedStatic(y) {
		return "", false
	}
	base, _ := stripLocalNumber(y.Name)
	return base + "@" + familyName(fn), true
}

// familyName returns the name of fn without the suffixes of compiler
// clones and parts, such as ".isra.0" or ".cold".
func familyName(fn *elfobj.Symbol) string {
	name, _, _ := strings.Cut(fn.Name, ".")
	return name
}

// countNamesakes returns the number of numbered static locals for each
// namesakeKey.
func (o *object) countNamesakes() map[string]int {
	counts := map[string]int{}
	for _, y := range o.f.Symbols {
		if k, ok := o.namesakeKey(y); ok {
			counts[k]++
		}
	}
	return counts
}

// namesakesChanged reports whether target's function has a different
// number of static locals of target's name in the two builds, with more
// than one in either, and returns both numbers. The compiler's numbers
// and the functions that use a variable first can both shift with such a
// change, so no correlation can tell which variable is the running
// kernel's.
func (d *differ) namesakesChanged(target *elfobj.Symbol) (patched, orig int, changed bool) {
	k, ok := d.patched.namesakeKey(target)
	if !ok {
		return 0, 0, false
	}
	if d.namesakes[0] == nil {
		d.namesakes = [2]map[string]int{d.orig.countNamesakes(), d.patched.countNamesakes()}
	}
	orig, patched = d.namesakes[0][k], d.namesakes[1][k]
	return patched, orig, orig > 0 && patched != orig && max(patched, orig) > 1
}
