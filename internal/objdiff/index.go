package objdiff

import (
	"bytes"
	"debug/elf"
	"regexp"
	"sort"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// object indexes one side of the pair.
type object struct {
	f        *elfobj.File
	relocs   map[*elfobj.Section]*elfobj.Section  // target section -> its relocation section
	defined  map[*elfobj.Section][]*elfobj.Symbol // named symbols of each section, by address
	byKey    map[string]*elfobj.Symbol            // correlation key -> symbol
	key      map[*elfobj.Symbol]string
	groups   map[string][]*elfobj.Symbol         // symbols by key, in symbol table order
	owner    map[*elfobj.Symbol]*elfobj.Symbol   // static local variable -> first function that uses it
	users    map[*elfobj.Symbol][]*elfobj.Symbol // static local variable -> functions that use it
	children map[*elfobj.Symbol][]*elfobj.Symbol

	symbolRelocs map[*elfobj.Symbol][]elfobj.Reloc // cache of relocsIn
}

func indexObject(f *elfobj.File) *object {
	o := &object{
		f:        f,
		relocs:   map[*elfobj.Section]*elfobj.Section{},
		defined:  map[*elfobj.Section][]*elfobj.Symbol{},
		byKey:    map[string]*elfobj.Symbol{},
		key:      map[*elfobj.Symbol]string{},
		groups:   map[string][]*elfobj.Symbol{},
		owner:    map[*elfobj.Symbol]*elfobj.Symbol{},
		users:    map[*elfobj.Symbol][]*elfobj.Symbol{},
		children: map[*elfobj.Symbol][]*elfobj.Symbol{},

		symbolRelocs: map[*elfobj.Symbol][]elfobj.Reloc{},
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_RELA && s.Info != nil {
			o.relocs[s.Info] = s
		}
	}
	for _, y := range f.Symbols {
		if y.Section != nil && y.Name != "" && (y.Type == elf.STT_FUNC || y.Type == elf.STT_OBJECT || y.Type == elf.STT_NOTYPE) {
			o.defined[y.Section] = append(o.defined[y.Section], y)
		}
	}
	for _, syms := range o.defined {
		sort.SliceStable(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	}
	o.replaceSectionReferences()
	o.findOwners()
	o.assignKeys()
	o.findChildren()
	return o
}

// numberedLocal matches the compiler's numbering of static local variables
// and other file-unique names, such as "blanks.39032" or "__key.12", and
// the __COUNTER__ numbers of the kernel's __UNIQUE_ID() names, such as
// "__UNIQUE_ID_ddebug412".
var numberedLocal = regexp.MustCompile(`^(.+?)\.[0-9]+$|^(__UNIQUE_ID_.*?)[0-9]+$`)

// cloneSuffix matches the numbers in the names of compiler clones, such as
// "foo.isra.0" or "bar.constprop.3.cold".
var cloneSuffix = regexp.MustCompile(`\.(isra|constprop|part|lto_priv)\.[0-9]+`)

// assignKeys gives every named symbol a key that is the same in both
// builds: the name with compiler-chosen numbers removed, and for numbered
// static locals the function that uses them. Symbols that share a key are
// kept in groups, in symbol table order.
func (o *object) assignKeys() {
	for _, y := range o.f.Symbols {
		if y.Name == "" || y.Type == elf.STT_SECTION || y.Type == elf.STT_FILE {
			continue
		}
		k := o.baseKey(y)
		o.key[y] = k
		o.groups[k] = append(o.groups[k], y)
	}
	for k, group := range o.groups {
		if len(group) == 1 {
			o.byKey[k] = group[0]
		}
	}
}

func (o *object) baseKey(y *elfobj.Symbol) string {
	name := cloneSuffix.ReplaceAllString(y.Name, ".$1.N")
	if y.Bind != elf.STB_LOCAL || y.Type == elf.STT_FUNC {
		return name
	}
	base, ok := stripLocalNumber(name)
	if !ok {
		return name
	}
	if fn := o.owner[y]; fn != nil {
		return base + "@" + cloneSuffix.ReplaceAllString(fn.Name, ".$1.N")
	}
	return base + ".N"
}

// findOwners records, for each local data symbol, the functions that
// reference it, and the first of them as its owner.
func (o *object) findOwners() {
	for _, fn := range o.functions() {
		rs := o.relocs[fn.Section]
		if rs == nil {
			continue
		}
		for _, rel := range rs.Relocs {
			if rel.Offset < fn.Value || rel.Offset >= fn.Value+fn.Size {
				continue
			}
			target, _ := o.resolve(rel)
			if target == nil || target.Type == elf.STT_FUNC || target.Bind != elf.STB_LOCAL {
				continue
			}
			if o.owner[target] == nil {
				o.owner[target] = fn
			}
			if users := o.users[target]; len(users) == 0 || users[len(users)-1] != fn {
				o.users[target] = append(users, fn)
			}
		}
	}
}

// findChildren links compiler-split parts such as "foo.cold" to "foo".
func (o *object) findChildren() {
	byName := map[string]*elfobj.Symbol{}
	for _, fn := range o.functions() {
		byName[fn.Name] = fn
	}
	for _, fn := range o.functions() {
		if parent := byName[parentName(fn.Name)]; parent != nil && parent != fn {
			o.children[parent] = append(o.children[parent], fn)
		}
	}
}

// parentName returns the name of the function a split part such as
// "foo.cold" belongs to, or name itself.
func parentName(name string) string {
	if i := strings.Index(name, ".cold"); i > 0 {
		return name[:i]
	}
	return name
}

func isChild(name string) bool { return parentName(name) != name }

// functions returns the defined functions that a patch can replace, in
// symbol table order: no padding prefixes.
func (o *object) functions() []*elfobj.Symbol {
	var fns []*elfobj.Symbol
	for _, y := range o.f.Symbols {
		if y.Type == elf.STT_FUNC && y.Section != nil && !strings.HasPrefix(y.Name, "__pfx_") {
			fns = append(fns, y)
		}
	}
	return fns
}

// resolve returns the named symbol a relocation refers to and the offset
// into it. A reference through a section symbol is resolved to the named
// symbol that covers the referenced address; it stays the section symbol
// when none does.
func (o *object) resolve(rel elfobj.Reloc) (*elfobj.Symbol, int64) {
	y := rel.Symbol
	if y == nil {
		return nil, 0
	}
	if y.Type != elf.STT_SECTION || y.Section == nil {
		return y, rel.Addend
	}
	at := rel.Addend + int64(pcBias(rel.Type))
	for _, named := range o.defined[y.Section] {
		start := int64(named.Value)
		if at >= start && (at < start+int64(named.Size) || named.Size == 0 && at == start) {
			return named, rel.Addend - start
		}
	}
	return y, rel.Addend
}

// pcBias is the distance from a PC-relative relocation to the end of the
// instruction when no immediate follows it, the common case.
func pcBias(t elf.R_X86_64) int {
	switch t {
	case elf.R_X86_64_PC32, elf.R_X86_64_PLT32, elf.R_X86_64_GOTPCREL, elf.R_X86_64_GOTPCRELX, elf.R_X86_64_REX_GOTPCRELX:
		return 4
	}
	return 0
}

// symbolBytes returns the bytes of a defined symbol.
func symbolBytes(y *elfobj.Symbol) []byte {
	s := y.Section
	if s.Type == elf.SHT_NOBITS || y.Value > uint64(len(s.Data)) {
		return nil
	}
	end := min(y.Value+y.Size, uint64(len(s.Data)))
	return s.Data[y.Value:end]
}

// stringAt returns the NUL-terminated string at off in a string section.
func stringAt(s *elfobj.Section, off int64) string {
	if off < 0 || off >= int64(len(s.Data)) {
		return ""
	}
	end := bytes.IndexByte(s.Data[off:], 0)
	if end < 0 {
		return string(s.Data[off:])
	}
	return string(s.Data[off : off+int64(end)])
}

// stripLocalNumber returns name without the number the compiler or
// __COUNTER__ added to it, and whether it had one.
func stripLocalNumber(name string) (string, bool) {
	m := numberedLocal.FindStringSubmatch(name)
	switch {
	case m == nil:
		return name, false
	case m[1] != "":
		return m[1], true
	}
	return m[2], true
}
