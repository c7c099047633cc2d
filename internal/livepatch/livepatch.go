// Package livepatch loads, lists and removes live patch modules on the
// running kernel through finit_module, delete_module and
// /sys/kernel/livepatch. Apply and Revert need root.
package livepatch

import (
	"context"
	"fmt"
	"time"
)

// DefaultTimeout is how long Apply and Revert wait for a transition when
// Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Options control Apply and Revert.
type Options struct {
	Timeout  time.Duration     // maximum wait for the transition; zero means DefaultTimeout
	Progress func(line string) // receives each step, and the pending tasks about once a second while waiting; may be nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// system locates the kernel's interfaces. Tests point it at a directory
// laid out like sysfs and procfs, with fake system calls.
type system struct {
	sysfs          string // mount point of sysfs, normally /sys
	procfs         string // mount point of procfs, normally /proc
	kernel         kernelCalls
	pollInterval   time.Duration // time between reads of a patch's transition state
	reportInterval time.Duration // time between progress lines on pending tasks
}

var host = &system{
	sysfs:          "/sys",
	procfs:         "/proc",
	kernel:         liveKernel{},
	pollInterval:   50 * time.Millisecond,
	reportInterval: time.Second,
}

// Apply loads the live patch module at modulePath and waits until every
// task runs the patched code. It checks before loading that the module is
// a live patch built for the running kernel's release.
func Apply(ctx context.Context, modulePath string, opts Options) (*Patch, error) {
	return host.apply(ctx, modulePath, opts)
}

// List returns the loaded live patches, sorted by name.
func List() ([]Patch, error) {
	return host.listPatches()
}

// Revert disables the live patch name, waits until no task runs its code
// and unloads its module.
func Revert(ctx context.Context, name string, opts Options) error {
	return host.revert(ctx, name, opts)
}

func (s *system) checkRoot() error {
	if s.kernel.euid() != 0 {
		return ErrNotRoot
	}
	return nil
}
