package target

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// requirement is one tool or library a prepare needs, with the Debian
// package that provides it.
type requirement struct {
	command string // a command that must be in PATH, or ""
	file    string // a file that must exist, or ""
	pkg     string
}

var requirements = []requirement{
	{command: "apt-get", pkg: "apt"},
	{command: "dpkg-deb", pkg: "dpkg"},
	{command: "tar", pkg: "tar"},
	{command: "xz", pkg: "xz-utils"},
	{command: "depmod", pkg: "kmod"},
	{command: "make", pkg: "make"},
	{command: "bc", pkg: "bc"},
	{command: "flex", pkg: "flex"},
	{command: "bison", pkg: "bison"},
	{command: "pahole", pkg: "dwarves"},
	{file: "/usr/include/gelf.h", pkg: "libelf-dev"},
	{file: "/usr/include/openssl/evp.h", pkg: "libssl-dev"},
}

// checkTools checks that every requirement is installed and names the
// packages to install if not.
func checkTools() error {
	var missing []string
	for _, r := range requirements {
		if !r.present() {
			missing = append(missing, r.pkg)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing tools to prepare a kernel: install the Debian packages %s", strings.Join(missing, " "))
	}
	return nil
}

func (r requirement) present() bool {
	if r.command != "" {
		if _, err := exec.LookPath(r.command); err != nil {
			return false
		}
	}
	if r.file != "" {
		if _, err := os.Stat(r.file); err != nil {
			return false
		}
	}
	return true
}

// checkCompiler checks that the compiler named in the kernel config at
// configPath is installed and prints the same version text that the
// kernel's compiler printed.
func checkCompiler(configPath string) error {
	cfg, err := ReadConfig(configPath)
	if err != nil {
		return err
	}
	want := cfg.CompilerVersionText()
	cc := cfg.CompilerName()
	if cc == "" {
		return fmt.Errorf("config %s: no CONFIG_CC_VERSION_TEXT", configPath)
	}
	if _, err := exec.LookPath(cc); err != nil {
		return fmt.Errorf("compiler %s not found: install the Debian package %s", cc, cc)
	}
	out, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", cc, err)
	}
	got, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
	if got != want {
		return fmt.Errorf("compiler mismatch: %s --version prints %q, but the kernel was built by %q; install that compiler version", cc, got, want)
	}
	return nil
}
