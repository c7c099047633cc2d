package objdiff

import (
	"debug/elf"
	"slices"

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
