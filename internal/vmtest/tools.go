package vmtest

import (
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

const (
	qemuBinary     = "qemu-system-x86_64"
	qemuPackage    = "qemu-system-x86"
	busyboxPath    = "/bin/busybox"
	busyboxPackage = "busybox-static"
)

// findQEMU returns the path of qemu-system-x86_64.
func findQEMU() (string, error) {
	path, err := exec.LookPath(qemuBinary)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH: install the Debian package %s", qemuBinary, qemuPackage)
	}
	return path, nil
}

// findBusybox returns the path of a statically linked busybox, which runs
// in the guest without a C library.
func findBusybox(path string) (string, error) {
	static, err := IsStatic(path)
	if err != nil {
		return "", fmt.Errorf("busybox: %w: install the Debian package %s", err, busyboxPackage)
	}
	if !static {
		return "", fmt.Errorf("%s is dynamically linked: install the Debian package %s", path, busyboxPackage)
	}
	return path, nil
}

// busyboxApplets returns the applets of the busybox at path as paths
// relative to the root, such as "bin/sh" and "sbin/poweroff".
func busyboxApplets(path string) ([]string, error) {
	output, err := exec.Command(path, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %s --list-full: %w", path, err)
	}
	return strings.Fields(string(output)), nil
}

// IsStatic reports whether the ELF executable at path is statically
// linked, that is, has no program interpreter (PT_INTERP). Only a static
// binary runs in the harness's guest, which has no C library.
func IsStatic(path string) (bool, error) {
	file, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read executable %s: %w", path, err)
	}
	defer file.Close()

	for _, prog := range file.Progs {
		if prog.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// checkStaticKeepup returns an error unless path is a static keepup binary.
func checkStaticKeepup(path string) error {
	if path == "" {
		return errors.New("no keepup binary for the guest: set Config.Keepup to a static build (CGO_ENABLED=0 go build ./cmd/keepup)")
	}
	static, err := IsStatic(path)
	if err != nil {
		return err
	}
	if !static {
		return fmt.Errorf("keepup binary %s is dynamically linked, so it cannot run in the guest: build it with CGO_ENABLED=0 go build ./cmd/keepup", path)
	}
	return nil
}
