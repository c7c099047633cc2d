package klpmod

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
	"github.com/keepup/keepup/internal/symtab"
)

// binding is the way the module reaches one symbol of the running kernel.
type binding struct {
	exported  bool   // an ordinary relocation the module loader resolves
	namespace string // symbol namespace of an export
	sympos    int    // position for a livepatch relocation
}

// klpName returns the livepatch symbol name for a symbol of vmlinux.
func klpName(name string, sympos int) string {
	return fmt.Sprintf(".klp.sym.vmlinux.%s,%d", name, sympos)
}

// resolver binds the undefined symbols of one patch object to vmlinux.
type resolver struct {
	table  *symtab.Table
	source string
	orig   *elfobj.File
	file   *symtab.File // found on first use
}

func (r *resolver) bind(y *elfobj.Symbol) (binding, error) {
	if y.Bind == elf.STB_LOCAL {
		return r.bindLocal(y.Name)
	}
	if e, ok := r.table.Export(y.Name); ok {
		if e.Module != "vmlinux" {
			return binding{}, fmt.Errorf("symbol %q is exported by module %s; patches that reach into loadable modules are not supported yet", y.Name, e.Module)
		}
		return binding{exported: true, namespace: e.Namespace}, nil
	}
	if _, ok := r.table.Global(y.Name); ok {
		pos, err := r.table.Sympos(y.Name)
		return binding{sympos: pos}, err
	}
	return binding{}, fmt.Errorf("symbol %q: not defined in vmlinux", y.Name)
}

func (r *resolver) bindLocal(name string) (binding, error) {
	f, err := r.vmlinuxFile()
	if err != nil {
		return binding{}, err
	}
	pos, err := f.Sympos(name)
	return binding{sympos: pos}, err
}

// sympos returns the position of a function the patch replaces.
func (r *resolver) sympos(name string, bind elf.SymBind) (int, error) {
	if bind == elf.STB_LOCAL {
		b, err := r.bindLocal(name)
		return b.sympos, err
	}
	return r.table.Sympos(name)
}

// vmlinuxFile finds the group of local symbols that the original object
// contributed to vmlinux.
func (r *resolver) vmlinuxFile() (*symtab.File, error) {
	if r.file != nil {
		return r.file, nil
	}
	f, err := r.table.FindFile(r.source, localNames(r.orig))
	if err != nil {
		return nil, fmt.Errorf("find %s in vmlinux (is it built into the kernel?): %w", r.source, err)
	}
	r.file = f
	return f, nil
}

// localNames returns the names of the local functions and variables of
// obj that reach vmlinux: those in sections the kernel's link keeps.
func localNames(obj *elfobj.File) []string {
	var names []string
	for _, y := range obj.Symbols {
		if y.Bind != elf.STB_LOCAL || y.Section == nil || y.Name == "" {
			continue
		}
		if y.Type != elf.STT_FUNC && y.Type != elf.STT_OBJECT {
			continue
		}
		if keptByKernelLink(y.Section.Name) {
			names = append(names, y.Name)
		}
	}
	return names
}

func keptByKernelLink(section string) bool {
	for _, prefix := range []string{".text", ".data", ".bss", ".rodata"} {
		if strings.HasPrefix(section, prefix) {
			return true
		}
	}
	return false
}
