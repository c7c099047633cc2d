package objdiff

import (
	"debug/elf"
	"fmt"
	"slices"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

type differ struct {
	opts       Options
	orig       *object
	patched    *object
	match      map[*elfobj.Symbol]*elfobj.Symbol // patched symbol -> original symbol
	changed    map[*elfobj.Symbol]bool           // patched functions that differ from the original
	untraced   map[*elfobj.Symbol]bool           // changed functions replaced through their callers
	added      map[*elfobj.Symbol]bool           // patched functions the original lacks
	initDiffs  map[*elfobj.Symbol]bool           // changed or new __init functions
	marked     map[*elfobj.Symbol]bool           // functions the source marks to be left out
	ignored    []Ignored
	include    map[*elfobj.Section]bool // patched sections the patch carries
	carried    map[*elfobj.Symbol]bool  // patched variables the patch carries a copy of
	queue      []*elfobj.Section
	refs       *referrerIndex // built on first use
	specials   []*special
	rejections []Rejection
	lineOnly   map[*elfobj.Symbol]bool // functions whose code differs only in line numbers
	namesakes  [2]map[string]int       // counts of static locals per namesakeKey in the original and the patched build, made on first use
}

func newDiffer(orig, patched *elfobj.File, opts Options) (*differ, error) {
	if opts.Object == "" {
		opts.Object = patched.Name
	}
	if a, b := sourceName(orig), sourceName(patched); a != "" && b != "" && a != b {
		return nil, fmt.Errorf("%s is built from %s but %s from %s; compare two builds of one source file", orig.Name, a, patched.Name, b)
	}
	d := &differ{
		opts:      opts,
		orig:      indexObject(orig),
		patched:   indexObject(patched),
		match:     map[*elfobj.Symbol]*elfobj.Symbol{},
		changed:   map[*elfobj.Symbol]bool{},
		untraced:  map[*elfobj.Symbol]bool{},
		added:     map[*elfobj.Symbol]bool{},
		include:   map[*elfobj.Section]bool{},
		carried:   map[*elfobj.Symbol]bool{},
		initDiffs: map[*elfobj.Symbol]bool{},
		lineOnly:  map[*elfobj.Symbol]bool{},
	}
	d.marked = markedFunctions(d.patched)
	specials, err := findSpecials(patched, opts.EntrySizes)
	if err != nil {
		return nil, err
	}
	d.specials = specials
	return d, nil
}

// sourceName returns the name of the source file f is built from, as its
// first STT_FILE symbol records it, or "".
func sourceName(f *elfobj.File) string {
	for _, y := range f.Symbols {
		if y.Type == elf.STT_FILE {
			return y.Name
		}
	}
	return ""
}

func (d *differ) run() (*Result, error) {
	d.correlate()
	d.correlateStaticsByUsers()
	d.findChangedFunctions()
	d.reportLineOnly()
	d.reportRemoved()
	d.settleInitChanges()
	d.checkData()
	res := &Result{Object: d.opts.Object, Functions: d.functionList()}
	if len(d.rejections) == 0 && len(res.Functions) > 0 {
		if err := d.selectSections(); err != nil {
			return nil, err
		}
	}
	res.Rejections = d.rejections
	res.Ignored = d.ignored
	switch {
	case len(d.rejections) > 0:
		res.Verdict = Rejected
	case len(res.Functions) == 0:
		res.Verdict = NoChange
	default:
		res.Verdict = Changed
	}
	if res.Verdict == Changed {
		if err := d.attachPatch(res); err != nil {
			return nil, err
		}
	}
	res.sort()
	return res, nil
}

func (d *differ) attachPatch(res *Result) error {
	patch, symbols, err := d.emit()
	if err != nil {
		return fmt.Errorf("%s: build patch object: %w", d.opts.Object, err)
	}
	res.Patch = patch
	for i := range res.Functions {
		res.Functions[i].Symbol = symbols[res.Functions[i].Symbol]
	}
	return nil
}

// correlate pairs each patched symbol with the original symbol of the same
// key and type, both defined or both undefined. Static locals that share a
// key, such as several "__key" variables of one function, are paired in
// order when both builds have the same number of them.
func (d *differ) correlate() {
	for k, group := range d.patched.groups {
		origGroup := d.orig.groups[k]
		if len(group) != len(origGroup) || len(group) > 1 && !allLocalData(group) {
			continue
		}
		for i, y := range group {
			if o := origGroup[i]; o.Type == y.Type && o.Defined() == y.Defined() {
				d.match[y] = o
			}
		}
	}
}

func allLocalData(group []*elfobj.Symbol) bool {
	for _, y := range group {
		if y.Bind != elf.STB_LOCAL || y.Type != elf.STT_OBJECT {
			return false
		}
	}
	return true
}

func (d *differ) findChangedFunctions() {
	for _, fn := range d.patched.functions() {
		if !d.patchable(fn) {
			continue
		}
		o := d.match[fn]
		switch {
		case isFreedInitSection(fn.Section.Name) && (o == nil || !d.sameFunction(o, fn)):
			d.initDiffs[fn] = true
		case d.marked[fn] && (o == nil || !d.sameFunction(o, fn)):
			d.ignored = append(d.ignored, Ignored{Symbol: fn.Name, Reason: "the source marks it to be left out of the patch (" + ignoreFunctionsSection + ")"})
		case o == nil && isChild(fn.Name):
			d.markParentChanged(fn)
		case o == nil:
			d.added[fn] = true
		case !d.sameFunction(o, fn) && isChild(fn.Name):
			d.markParentChanged(fn)
		case !d.sameFunction(o, fn):
			d.markChanged(fn, o)
		}
	}
}

// reportLineOnly lists as ignored the functions whose code differs only in
// line numbers and that the patch does not replace for another reason.
func (d *differ) reportLineOnly() {
	reason := "only line numbers passed to WARN, printk or might_sleep sites changed, each a line the change moved"
	if d.opts.MovedLine == nil {
		reason = "only immediates passed where WARN, printk or might_sleep sites take a line number changed; " +
			"without the source change they are taken for moved lines"
	}
	for fn := range d.lineOnly {
		if !d.changed[fn] {
			d.ignored = append(d.ignored, Ignored{Symbol: fn.Name, Reason: reason})
		}
	}
}

// reportRemoved lists as ignored the functions of the original build that
// the patched build lacks. A patch cannot remove code, so the running
// kernel keeps them, and only the patched callers stop calling them.
func (d *differ) reportRemoved() {
	matched := map[*elfobj.Symbol]bool{}
	for _, o := range d.match {
		matched[o] = true
	}
	for _, fn := range d.orig.functions() {
		// A split part such as foo.cold that disappears belongs to its
		// parent, which the patch replaces.
		if !matched[fn] && d.patchable(fn) && !isChild(fn.Name) {
			d.ignored = append(d.ignored, Ignored{Symbol: fn.Name, Reason: "no longer in the object, because the change " +
				"removes it or the compiler inlines it into every caller; the running kernel keeps its copy"})
		}
	}
}

// patchable reports whether a change to fn matters to the running kernel:
// exit code of built-in files is discarded at link time.
func (d *differ) patchable(fn *elfobj.Symbol) bool {
	return !strings.HasPrefix(fn.Section.Name, ".exit.")
}

func (d *differ) markParentChanged(child *elfobj.Symbol) {
	for _, fn := range d.patched.functions() {
		if fn.Name != parentName(child.Name) {
			continue
		}
		if o := d.match[fn]; o != nil {
			d.markChanged(fn, o)
		} else {
			d.added[fn] = true
		}
		return
	}
}

func (d *differ) markChanged(fn, orig *elfobj.Symbol) {
	if d.changed[fn] {
		return
	}
	if isFreedInitSection(fn.Section.Name) {
		d.initDiffs[fn] = true
		return
	}
	d.changed[fn] = true
	switch {
	case isMeminitSection(fn.Section.Name):
		d.reject(fn.Name, "change to __meminit code, which is notrace and, depending on the kernel configuration, freed after boot or kept for memory hotplug; it cannot be live patched")
	case !hasFlag(fn.Section.Flags, elf.SHF_EXECINSTR):
		d.reject(fn.Name, "function is not in an executable section")
	case !hasFtraceHook(d.orig, orig):
		d.replaceThroughCallers(fn, orig)
	case !onlyFunctionIn(d.patched, fn):
		d.reject(fn.Name, sharedSectionReason(fn.Section.Name))
	}
}

// replaceThroughCallers handles a changed function that the live patch
// core cannot redirect because it has no ftrace hook, as the kernel's
// "inline" functions that the compiler keeps out of line: when only code
// of this file calls it, its callers are replaced instead and call the
// new copy.
func (d *differ) replaceThroughCallers(fn, orig *elfobj.Symbol) {
	if fn.Bind != elf.STB_LOCAL {
		d.reject(fn.Name, "function has no ftrace hook (notrace) and is global, so the live patch core cannot redirect it")
		return
	}
	callers, fromData := d.referrers(fn)
	if fromData != "" {
		d.reject(fn.Name, "function has no ftrace hook (notrace) and its address is stored in "+fromData+", so the live patch core cannot redirect it")
		return
	}
	d.untraced[fn] = true
	for _, caller := range callers {
		if o := d.match[caller]; o != nil {
			d.markChanged(caller, o)
		}
	}
}

// referrers returns the functions of the patched object that reference
// fn, or the name of a data section that holds its address.
func (d *differ) referrers(fn *elfobj.Symbol) ([]*elfobj.Symbol, string) {
	if d.refs == nil {
		d.refs = d.indexReferrers()
	}
	if s := d.refs.storedIn[fn]; s != "" {
		return nil, s
	}
	return d.refs.callers[fn], ""
}

// reject records that symbol cannot be patched, once however many
// references lead to it.
func (d *differ) reject(symbol, reason string) {
	r := Rejection{Symbol: symbol, Reason: reason}
	if !slices.Contains(d.rejections, r) {
		d.rejections = append(d.rejections, r)
	}
}

func isInitSection(name string) bool {
	return isFreedInitSection(name) || isMeminitSection(name)
}

// isFreedInitSection reports whether name is a section of init code or
// data that the kernel frees after boot.
func isFreedInitSection(name string) bool {
	return strings.HasPrefix(name, ".init.") || strings.HasPrefix(name, ".head.text")
}

// isMeminitSection reports whether name is a __meminit section, which the
// kernel keeps when memory hotplug is configured and frees otherwise.
func isMeminitSection(name string) bool { return strings.HasPrefix(name, ".meminit.") }

func hasFlag(f elf.SectionFlag, bit elf.SectionFlag) bool { return f&bit != 0 }

// hasFtraceHook reports whether fn calls __fentry__ in its first
// instructions, which the live patch core uses to redirect it.
func hasFtraceHook(o *object, fn *elfobj.Symbol) bool {
	for _, rel := range o.relocsIn(fn) {
		if rel.Offset-fn.Value > 16 {
			break
		}
		if rel.Symbol != nil && rel.Symbol.Name == "__fentry__" {
			return true
		}
	}
	return false
}

// onlyFunctionIn reports whether fn is the only function in its section,
// not counting its padding prefix symbol.
func onlyFunctionIn(o *object, fn *elfobj.Symbol) bool {
	for _, y := range o.defined[fn.Section] {
		if y != fn && y.Type == elf.STT_FUNC && y.Name != "__pfx_"+fn.Name {
			return false
		}
	}
	return true
}

// checkData rejects changes to existing variables: the running kernel's
// copy keeps its old contents, so new initial values would never apply.
// Per-site statics are exempt because a function that uses a changed one
// differs too and carries a fresh copy.
func (d *differ) checkData() {
	for y, o := range d.match {
		if y.Type != elf.STT_OBJECT || !y.Defined() || !d.isPlainData(y.Section) || isPerSiteStatic(y) {
			continue
		}
		if !sameSymbol(d.orig, o, d.patched, y) {
			d.reject(o.Name, "change to existing data, whose contents in the running kernel a live patch cannot replace")
		}
	}
}

// isPlainData reports whether s holds ordinary variables, as opposed to
// special sections, init data and metadata that does not reach the
// running kernel as variables.
func (d *differ) isPlainData(s *elfobj.Section) bool {
	if !hasFlag(s.Flags, elf.SHF_ALLOC) || hasFlag(s.Flags, elf.SHF_EXECINSTR) || isInitSection(s.Name) {
		return false
	}
	if d.specialFor(s) != nil || strings.HasPrefix(s.Name, ".discard") {
		return false
	}
	for _, prefix := range []string{".data", ".bss", ".rodata"} {
		if strings.HasPrefix(s.Name, prefix) {
			return true
		}
	}
	return false
}

func (d *differ) functionList() []Function {
	var fns []Function
	for fn := range d.changed {
		if !d.untraced[fn] {
			fns = append(fns, Function{Name: d.match[fn].Name, Kind: KindChanged, Symbol: fn})
		}
	}
	for fn := range d.added {
		fns = append(fns, Function{Name: fn.Name, Kind: KindNew, Symbol: fn})
	}
	return fns
}

// sharedSectionReason explains why a function that shares its section
// with other code cannot be carried alone.
func sharedSectionReason(section string) string {
	if section == ".text" {
		return "function shares section .text with other code; build with -ffunction-sections"
	}
	return "function is in " + section + ", where the kernel groups code of one kind (scheduler, locking, noinstr or kprobes code) in one section even under -ffunction-sections, and keepup cannot carry one function out of such a section yet"
}
