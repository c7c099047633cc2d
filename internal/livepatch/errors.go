package livepatch

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrNotRoot is returned by Apply and Revert when not run as root.
	ErrNotRoot = errors.New("loading and unloading live patches needs root: run as root or with sudo")
	// ErrNoLivepatch is returned when the running kernel has no livepatch core.
	ErrNoLivepatch = errors.New("the running kernel lacks live patching support (CONFIG_LIVEPATCH)")
	// ErrAlreadyLoaded is returned by Apply when the patch is loaded already.
	ErrAlreadyLoaded = errors.New("already loaded")
	// ErrNotLoaded is returned by Revert for a name that no loaded patch has.
	ErrNotLoaded = errors.New("patch is not loaded")
	// ErrNotLivepatch is returned by Apply for a module without livepatch=Y.
	ErrNotLivepatch = errors.New("module is not a live patch: its .modinfo lacks livepatch=Y")
)

// NotLoadedError reports a patch name that no loaded patch has. It matches
// ErrNotLoaded with errors.Is.
type NotLoadedError struct {
	Name   string
	Loaded []string // names of the loaded patches
}

func (e *NotLoadedError) Error() string {
	if len(e.Loaded) == 0 {
		return fmt.Sprintf("patch %s is not loaded, and no live patches are loaded", e.Name)
	}
	return fmt.Sprintf("patch %s is not loaded; loaded patches: %s", e.Name, strings.Join(e.Loaded, ", "))
}

func (e *NotLoadedError) Is(target error) bool { return target == ErrNotLoaded }

// ReleaseError reports a module built for another kernel release than the
// running one.
type ReleaseError struct {
	Module   string // path of the module
	Built    string // release from the module's vermagic
	Vermagic string
	Running  string // release of the running kernel, as uname -r prints it
}

func (e *ReleaseError) Error() string {
	return fmt.Sprintf("module %s was built for kernel %s (vermagic %q), but this machine runs %s: build the patch for %s",
		e.Module, e.Built, e.Vermagic, e.Running, e.Running)
}

// TransitionError reports a transition that did not finish in time. The
// kernel keeps the transition going after it is returned.
type TransitionError struct {
	Patch   string
	Target  int // the patch_state all tasks must reach
	Elapsed time.Duration
	Pending []Task // threads that had not reached Target
	Advice  string // next step for the user
}

// maxReportedTasks limits the threads a TransitionError describes.
const maxReportedTasks = 10

func (e *TransitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "patch %s: transition to the %s state timed out after %s with %d tasks still %s",
		e.Patch, stateName(e.Target), e.Elapsed.Round(time.Millisecond), len(e.Pending), stateName(1-e.Target))
	for i, task := range e.Pending {
		if i == maxReportedTasks {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Pending)-i)
			break
		}
		fmt.Fprintf(&b, "\n  pid %d tid %d (%s)", task.PID, task.TID, task.Comm)
		for _, line := range strings.Split(task.Stack, "\n") {
			if line != "" {
				fmt.Fprintf(&b, "\n      %s", line)
			}
		}
	}
	if e.Advice != "" {
		fmt.Fprintf(&b, "\n%s", e.Advice)
	}
	return b.String()
}

// loadError wraps an error of finit_module with the reason the kernel
// rejected the module and the next step.
func loadError(path, name string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("load module %s: %w", path, err)
	}
	reason := loadErrnoReason(errno, name)
	return fmt.Errorf("load module %s: %s: %w", path, reason, err)
}

func loadErrnoReason(errno syscall.Errno, name string) string {
	switch errno {
	case syscall.EEXIST:
		return fmt.Sprintf("a module named %s is already loaded; run 'keepup list', or 'keepup revert %s' first", name, name)
	case syscall.ENOEXEC:
		return "invalid module: the kernel could not parse it as a module for this architecture"
	case syscall.EINVAL:
		return "invalid module or patch: a symbol version (modversions CRC) differs, or a function to patch was not found; dmesg names the reason"
	case syscall.ENOENT:
		return "the module needs a symbol that the running kernel does not export; dmesg names the symbol"
	case syscall.EPERM:
		return "the kernel does not permit loading modules (kernel.modules_disabled is set, or lockdown is active)"
	case syscall.EKEYREJECTED:
		return "the kernel rejected the module's signature: sign it with a key the kernel trusts"
	case syscall.ENOKEY:
		return "the kernel requires signed modules and this one is unsigned: sign it with a key the kernel trusts"
	case syscall.EBUSY:
		return "another live patch transition is in progress: wait for it to finish ('keepup list') and retry"
	}
	return "the kernel rejected the module; dmesg names the reason"
}
