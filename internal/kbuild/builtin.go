package kbuild

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"strings"
	"sync"
)

// builtinSources is the set of source files compiled into one vmlinux, as
// named by the compile units of its DWARF: paths relative to the tree for
// C files, absolute build paths for some assembly files.
type builtinSources map[string]bool

// contains reports whether the tree path p is compiled into vmlinux.
func (b builtinSources) contains(p string) bool {
	if b[p] {
		return true
	}
	for name := range b {
		if strings.HasSuffix(name, "/"+p) {
			return true
		}
	}
	return false
}

var builtinCache sync.Map // vmlinux path -> *builtinEntry

type builtinEntry struct {
	once    sync.Once
	sources builtinSources
	err     error
}

// vmlinuxSources returns the source files compiled into the vmlinux at
// path, read once per process because reading the DWARF of a distribution
// vmlinux takes about a second.
func vmlinuxSources(path string) (builtinSources, error) {
	v, _ := builtinCache.LoadOrStore(path, &builtinEntry{})
	e := v.(*builtinEntry)
	e.once.Do(func() { e.sources, e.err = readCompileUnits(path) })
	return e.sources, e.err
}

func readCompileUnits(path string) (builtinSources, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read vmlinux: %w", err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("read DWARF of %s: %w", path, err)
	}
	sources := builtinSources{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("read DWARF of %s: %w", path, err)
		}
		if e == nil {
			break
		}
		if name, ok := e.Val(dwarf.AttrName).(string); ok && e.Tag == dwarf.TagCompileUnit {
			sources[name] = true
		}
		r.SkipChildren()
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("read DWARF of %s: no compile units; use a vmlinux with debug info", path)
	}
	return sources, nil
}
