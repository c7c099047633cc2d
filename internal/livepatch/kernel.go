package livepatch

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// kernelCalls are the system calls the runtime makes; tests replace them.
type kernelCalls interface {
	euid() int
	release() (string, error)
	loadModule(file *os.File) error
	unloadModule(name string) error
}

// liveKernel makes the system calls on the running kernel.
type liveKernel struct{}

func (liveKernel) euid() int { return os.Geteuid() }

// release returns the running kernel's release, as uname -r prints it.
func (liveKernel) release() (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(uts.Release[:]), nil
}

func (liveKernel) loadModule(file *os.File) error {
	return unix.FinitModule(int(file.Fd()), "", finitModuleFlags)
}

func (liveKernel) unloadModule(name string) error {
	return unix.DeleteModule(name, deleteModuleFlags)
}
