package symtab

import (
	"debug/elf"
	"fmt"
	"path"
	"sort"
	"strings"
)

// File is the group of local symbols that one object file contributed to
// vmlinux, which are the symbols between its FILE symbol and the next one.
type File struct {
	Name  string // FILE symbol name: the source file's base name, such as "cmdline.c"
	Index int    // position among the FILE symbols of vmlinux, from 0

	locals map[string][]Symbol
	table  *Table
}

func (f *File) add(s Symbol) {
	f.locals[s.Name] = append(f.locals[s.Name], s)
}

// Local returns the local symbol name of this file.
func (f *File) Local(name string) (Symbol, bool) {
	syms := f.locals[name]
	if len(syms) != 1 {
		return Symbol{}, false
	}
	return syms[0], true
}

// Sympos returns the sympos of the local symbol name of this file: 0 if
// the name occurs once in kallsyms, else the symbol's 1-based position
// among the kallsyms entries of that name.
func (f *File) Sympos(name string) (int, error) {
	syms := f.locals[name]
	switch len(syms) {
	case 0:
		return 0, fmt.Errorf("file %s: no local symbol %q", f, name)
	case 1:
	default:
		return 0, fmt.Errorf("file %s: symbol %q: ambiguous: %d local definitions in this file", f, name, len(syms))
	}

	pos, err := f.table.sympos(syms[0])
	if err != nil {
		return 0, fmt.Errorf("file %s: %w", f, err)
	}
	return pos, nil
}

// String returns the FILE symbol name and its index, such as "core.c#12".
func (f *File) String() string {
	return fmt.Sprintf("%s#%d", f.Name, f.Index)
}

// defines reports whether the file has a local definition of every name.
func (f *File) defines(names []string) bool {
	return len(f.missing(names)) == 0
}

func (f *File) missing(names []string) []string {
	var missing []string
	for _, name := range names {
		if len(f.locals[name]) == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}

// definesExactly reports whether the file's local functions and objects
// are exactly the given names.
func (f *File) definesExactly(names []string) bool {
	want := make(map[string]bool, len(names))
	for _, name := range names {
		want[name] = true
	}

	have := 0
	for name, syms := range f.locals {
		if !isFuncOrObject(syms[0]) {
			continue
		}
		if !want[name] {
			return false
		}
		have++
	}
	return have == len(want)
}

func isFuncOrObject(s Symbol) bool {
	return s.Type == elf.STT_FUNC || s.Type == elf.STT_OBJECT
}

// FindFile returns the vmlinux file group of the object compiled from
// source, a path such as "fs/proc/cmdline.c" or its base name, that
// defines all of locals, the names of the object's local functions and
// objects. When several groups of that name define them all, the one whose
// local functions and objects are exactly locals wins.
func (t *Table) FindFile(source string, locals []string) (*File, error) {
	name := path.Base(source)
	candidates := t.byName[name]
	if len(candidates) == 0 {
		return nil, fmt.Errorf("file %q: no FILE symbol %q in vmlinux", source, name)
	}

	matches := filter(candidates, func(f *File) bool { return f.defines(locals) })
	if exact := filter(matches, func(f *File) bool { return f.definesExactly(locals) }); len(exact) > 0 {
		matches = exact
	}

	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, noFileError(source, candidates, locals)
	}
	return nil, fmt.Errorf("file %q: ambiguous: %d vmlinux files named %q define all %d local symbols given (%s)", source, len(matches), name, len(locals), joinFiles(matches))
}

func filter(files []*File, keep func(*File) bool) []*File {
	var selected []*File
	for _, f := range files {
		if keep(f) {
			selected = append(selected, f)
		}
	}
	return selected
}

// noFileError names the candidate that lacks the fewest of locals and
// what it lacks, so the caller can see which name does not match.
func noFileError(source string, candidates []*File, locals []string) error {
	best := candidates[0]
	bestMissing := best.missing(locals)
	for _, f := range candidates[1:] {
		if m := f.missing(locals); len(m) < len(bestMissing) {
			best, bestMissing = f, m
		}
	}

	sort.Strings(bestMissing)
	return fmt.Errorf("file %q: none of the %d vmlinux files named %q defines all %d local symbols given, and the closest, %s, lacks %s",
		source, len(candidates), best.Name, len(locals), best, strings.Join(quoteAll(bestMissing), ", "))
}

func joinFiles(files []*File) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.String()
	}
	return strings.Join(names, ", ")
}

func quoteAll(names []string) []string {
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = fmt.Sprintf("%q", name)
	}
	return quoted
}
