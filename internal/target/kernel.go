// Package target finds, fetches and prepares the artifacts of one target
// kernel: its image, config, compiler, source tree, headers and symbols.
package target

import "context"

// Kernel is one prepared target kernel and the paths of its artifacts.
// Every path is absolute, and nothing under it is written after Prepare
// returns, so concurrent builds may share one Kernel.
type Kernel struct {
	Release    string   // kernel release as uname -r prints it, such as "6.1.0-57-amd64"
	Version    string   // version of the source the kernel was built from, such as "6.1.192-3"
	Arch       string   // machine architecture as uname -m prints it, such as "x86_64"
	Dir        string   // this kernel's directory in the cache
	SourceDir  string   // pristine source tree with the distribution's patches applied
	BuildDir   string   // prepared object tree (make O=): .config, generated headers, tools
	HeadersDir string   // kbuild tree for external modules (make -C HeadersDir M=DIR)
	Image      string   // bootable kernel image (vmlinuz)
	Config     string   // the target's own kernel config
	ModulesDir string   // lib/modules/RELEASE of the unpacked image, with modules.builtin and modules.dep
	Vmlinux    string   // ELF vmlinux with its full symbol table
	Symvers    string   // Module.symvers with the exported symbols and their CRCs
	CC         string   // the compiler that built the kernel, such as "gcc-12"
	MakeVars   []string // variables every make run in SourceDir or BuildDir needs, such as "CC=gcc-12"
}

// Provider makes a prepared Kernel from a kernel release name.
type Provider interface {
	Prepare(ctx context.Context, release string) (*Kernel, error)
}
