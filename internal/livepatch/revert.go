package livepatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// revertAdvice is the next step offered after a revert transition timed out.
const revertAdvice = "The patch is disabled, but some tasks still run its code, so its module cannot be unloaded yet. " +
	"Run 'keepup revert %s' again later to finish."

func (s *system) revert(ctx context.Context, name string, opts Options) error {
	start := time.Now()
	if err := s.checkRoot(); err != nil {
		return err
	}
	if err := s.checkLivepatch(); err != nil {
		return err
	}
	name = moduleName(name)

	patch, err := s.readPatch(name)
	if errors.Is(err, fs.ErrNotExist) {
		return s.revertUnlisted(ctx, name, start, opts)
	}
	if err != nil {
		return err
	}

	if patch.Enabled {
		opts.progress("disabling patch %s", name)
		if err := s.disable(name); err != nil {
			return err
		}
	}

	opts.progress("waiting for all tasks to leave the patched code")
	_, err = s.wait(ctx, transition{
		patch:  name,
		target: patchStateUnpatched,
		done:   revertedDone,
		advice: fmt.Sprintf(revertAdvice, name),
	}, opts)
	if err != nil {
		return err
	}

	return s.unloadPatch(ctx, name, start, opts)
}

// revertUnlisted handles a name without a directory under
// /sys/kernel/livepatch: the module of an already disabled patch is
// unloaded, and any other name is an error.
func (s *system) revertUnlisted(ctx context.Context, name string, start time.Time, opts Options) error {
	if !s.isLivepatchModule(name) {
		return s.notLoadedError(name)
	}
	opts.progress("patch %s is disabled already", name)
	return s.unloadPatch(ctx, name, start, opts)
}

func (s *system) notLoadedError(name string) error {
	return &NotLoadedError{Name: name, Loaded: s.patchNames()}
}

func (s *system) disable(name string) error {
	path := filepath.Join(s.patchDir(name), attrEnabled)
	if err := os.WriteFile(path, []byte("0"), 0); err != nil {
		return fmt.Errorf("disable patch %s: write %s: %w", name, path, err)
	}
	return nil
}

// revertedDone reports whether a revert transition finished. The kernel
// removes the patch's directory soon after the transition ends.
func revertedDone(patch *Patch) (bool, error) {
	if patch == nil {
		return true, nil
	}
	if patch.Enabled && !patch.Transition {
		return false, errors.New("the patch was enabled again during its transition")
	}
	return !patch.Enabled && !patch.Transition, nil
}

func (s *system) unloadPatch(ctx context.Context, name string, start time.Time, opts Options) error {
	opts.progress("unloading module %s", name)
	if err := s.unload(ctx, name, opts.timeout()); err != nil {
		return err
	}
	opts.progress("done: patch %s reverted in %s", name, time.Since(start).Round(time.Millisecond))
	return nil
}

// unload removes the module, retrying while the kernel still holds a
// reference: the livepatch core drops its reference from a work item after
// the transition ends.
func (s *system) unload(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := s.kernel.unloadModule(name)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("unload module %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("unload module %s: still in use after %s: %w; run 'keepup revert %s' again later", name, timeout, err, name)
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("unload module %s: %w", name, ctx.Err())
		case <-time.After(s.pollInterval):
		}
	}
}

// moduleName returns the kernel's spelling of a module name: the kernel
// treats '-' and '_' in module names alike and lists them with '_', so
// "livepatch-fix" names the patch livepatch_fix.
func moduleName(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}
