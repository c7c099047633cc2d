package livepatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// applyAdvice is the next step offered after an apply transition timed out.
const applyAdvice = "The patch stays loaded, and the kernel keeps switching tasks (it wakes the blocking ones with a fake signal every 15 s). " +
	"Run 'keepup list' later to see whether the transition finished, or 'keepup revert %s' to cancel it."

func (s *system) apply(ctx context.Context, path string, opts Options) (*Patch, error) {
	start := time.Now()
	info, err := s.checkApply(path)
	if err != nil {
		return nil, err
	}

	opts.progress("loading %s as patch %s", path, info.Name)
	if err := s.load(path, info.Name); err != nil {
		return nil, err
	}

	opts.progress("waiting for all tasks to switch to the patched code")
	patch, err := s.wait(ctx, transition{
		patch:  info.Name,
		target: patchStatePatched,
		done:   appliedDone,
		advice: fmt.Sprintf(applyAdvice, info.Name),
	}, opts)
	if err != nil {
		return nil, err
	}

	opts.progress("done: patch %s applied in %s", info.Name, time.Since(start).Round(time.Millisecond))
	return patch, nil
}

// checkApply runs every check that can fail before the module is loaded.
func (s *system) checkApply(path string) (*Modinfo, error) {
	if err := s.checkRoot(); err != nil {
		return nil, err
	}
	if err := s.checkLivepatch(); err != nil {
		return nil, err
	}
	info, err := ReadModinfo(path)
	if err != nil {
		return nil, err
	}
	if !info.Livepatch {
		return nil, fmt.Errorf("%s: %w", path, ErrNotLivepatch)
	}

	running, err := s.kernel.release()
	if err != nil {
		return nil, err
	}
	if info.Release() != running {
		return nil, &ReleaseError{Module: path, Built: info.Release(), Vermagic: info.Vermagic, Running: running}
	}

	_, err = os.Stat(s.patchDir(info.Name))
	if err == nil {
		return nil, fmt.Errorf("patch %s is %w; run 'keepup revert %s' first to replace it", info.Name, ErrAlreadyLoaded, info.Name)
	}
	return info, nil
}

func (s *system) load(path, name string) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer file.Close()

	if err := s.kernel.loadModule(file); err != nil {
		return loadError(path, name, err)
	}
	return nil
}

// appliedDone reports whether an apply transition finished.
func appliedDone(patch *Patch) (bool, error) {
	switch {
	case patch == nil:
		return false, errors.New("the patch was removed during its transition: it was disabled, or the kernel reverted it; dmesg names the reason")
	case !patch.Enabled && !patch.Transition:
		return false, errors.New("the patch was disabled during its transition")
	}
	return patch.Enabled && !patch.Transition, nil
}

// transition describes one wait for a patch's tasks to reach a state.
type transition struct {
	patch  string
	target int                              // the patch_state every task must reach
	done   func(patch *Patch) (bool, error) // patch is nil once its directory is gone
	advice string                           // next step offered when the wait times out
}

// wait polls the patch until t.done returns true, reporting pending tasks
// through opts.Progress, and fails with a TransitionError on timeout.
func (s *system) wait(ctx context.Context, t transition, opts Options) (*Patch, error) {
	start := time.Now()
	deadline := start.Add(opts.timeout())
	nextReport := start.Add(s.reportInterval)
	ticker := time.NewTicker(s.pollInterval)
	defer ticker.Stop()

	for {
		patch, err := s.readPatch(t.patch)
		if errors.Is(err, fs.ErrNotExist) {
			patch, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		finished, err := t.done(patch)
		if err != nil {
			return nil, fmt.Errorf("patch %s: %w", t.patch, err)
		}
		if finished {
			return patch, nil
		}

		now := time.Now()
		if now.After(deadline) {
			return nil, s.transitionError(t, now.Sub(start))
		}
		if now.After(nextReport) {
			s.reportPending(t, opts)
			nextReport = now.Add(s.reportInterval)
		}

		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("patch %s: wait for the transition: %w; the transition continues in the kernel", t.patch, ctx.Err())
		case <-ticker.C:
		}
	}
}

func (s *system) reportPending(t transition, opts Options) {
	pending, err := s.pendingTasks(t.target, false)
	if err != nil {
		opts.progress("patch %s: in transition (%v)", t.patch, err)
		return
	}
	opts.progress("patch %s: %d tasks not yet %s", t.patch, len(pending), stateName(t.target))
}

func (s *system) transitionError(t transition, elapsed time.Duration) error {
	pending, err := s.pendingTasks(t.target, true)
	if err != nil {
		return fmt.Errorf("patch %s: transition timed out after %s, and listing the blocking tasks failed: %w", t.patch, elapsed, err)
	}
	return &TransitionError{Patch: t.patch, Target: t.target, Elapsed: elapsed, Pending: pending, Advice: t.advice}
}
