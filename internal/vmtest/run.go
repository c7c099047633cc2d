package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/keepup/keepup/internal/livepatch"
	"github.com/keepup/keepup/internal/target"
)

// Guest paths and steps of a patch test.
const (
	guestKeepup = "/bin/keepup"
	guestPatch  = "/keepup-vmtest/patch.ko"
	guestCheck  = "/keepup-vmtest/check.sh"

	StepCheckBefore   = "check-before"
	StepApply         = "apply"
	StepCheckApplied  = "check-applied"
	StepList          = "list"
	StepRevert        = "revert"
	StepCheckReverted = "check-reverted"
)

// DefaultApplyTimeout is the transition timeout that the guest passes to
// keepup apply and keepup revert when Config.ApplyTimeout is zero.
const DefaultApplyTimeout = 30 * time.Second

// Config describes one patch test.
type Config struct {
	Kernel       *target.Kernel // the kernel the patch was built for; Run boots its Image
	Keepup       string         // statically linked keepup binary to run in the guest
	Patch        string         // live patch module (.ko)
	Check        string         // shell script that exits 0 when the fix is in effect
	Files        []File         // more files for the guest, such as modules that the check loads
	Timeout      time.Duration  // limit for the whole boot; zero means DefaultBootTimeout
	ApplyTimeout time.Duration  // transition timeout in the guest; zero means DefaultApplyTimeout
	Accel        string         // AccelAuto, AccelTCG or AccelKVM; "" means AccelAuto
	Loader       string         // LoaderImage or LoaderPVH; "" means LoaderImage
	Progress     func(line string)
}

// Expectation is the exit status a step of a patch test must have.
type Expectation int

const (
	ExpectSuccess Expectation = iota // exit status 0
	ExpectFailure                    // non-zero exit status
)

func (e Expectation) String() string {
	if e == ExpectFailure {
		return "fail"
	}
	return "pass"
}

// StepResult is one step of a patch test with its verdict.
type StepResult struct {
	Step
	Expect Expectation
	OK     bool // the step finished with the expected exit status
}

// Result is the outcome of a patch test.
type Result struct {
	Steps    []StepResult // the patch test's steps in order: check, apply, check, list, revert, check
	Failures []string     // every reason the test failed; empty when it passed
	Boot     *BootResult  // the boot's logs, boot ids and all raw steps
}

// OK reports whether the patch test passed.
func (r *Result) OK() bool { return len(r.Failures) == 0 }

// patchSteps are the steps of a patch test with their expected results.
var patchSteps = []struct {
	name   string
	expect Expectation
	why    string // the expectation in words, for failure messages
}{
	{StepCheckBefore, ExpectFailure, "the check must fail before the patch is applied"},
	{StepApply, ExpectSuccess, "keepup apply must succeed"},
	{StepCheckApplied, ExpectSuccess, "the check must pass while the patch is applied"},
	{StepList, ExpectSuccess, "keepup list must succeed"},
	{StepRevert, ExpectSuccess, "keepup revert must succeed"},
	{StepCheckReverted, ExpectFailure, "the check must fail again after the patch is reverted"},
}

// Run boots cfg.Kernel and, in the guest, runs the check (which must
// fail), applies the patch with keepup, runs the check (which must pass),
// lists and reverts the patch and runs the check again (which must fail).
// It also requires a kernel log without errors and the same boot id at the
// start and end. The error is a *TestError when the guest ran but the test
// failed; the Result is returned whenever the guest booted.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	info, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}

	boot, bootErr := Boot(ctx, BootConfig{
		Image:    cfg.Kernel.Image,
		Files:    patchFiles(cfg),
		Script:   patchScript(info.Name, cfg.applyTimeout()),
		Timeout:  cfg.Timeout,
		Accel:    cfg.Accel,
		Loader:   cfg.Loader,
		Progress: cfg.Progress,
	})
	if boot == nil {
		return nil, bootErr
	}

	result := evaluate(boot)
	if bootErr != nil {
		result.Failures = append([]string{bootErr.Error()}, result.Failures...)
	}
	if !result.OK() {
		return result, &TestError{Failures: result.Failures}
	}
	return result, nil
}

// checkConfig checks the inputs on the host and returns the patch's
// .modinfo.
func checkConfig(cfg Config) (*livepatch.Modinfo, error) {
	if cfg.Kernel == nil || cfg.Kernel.Image == "" {
		return nil, errors.New("vmtest: no kernel image to boot")
	}
	if err := checkStaticKeepup(cfg.Keepup); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Check); err != nil {
		return nil, fmt.Errorf("vmtest: check script: %w", err)
	}
	info, err := livepatch.ReadModinfo(cfg.Patch)
	if err != nil {
		return nil, err
	}
	if !validStepName(info.Name) {
		return nil, fmt.Errorf("vmtest: patch module %s has an invalid name %q", cfg.Patch, info.Name)
	}
	if !info.Livepatch {
		return nil, fmt.Errorf("vmtest: module %s is not a live patch: its .modinfo lacks livepatch=Y; build one with keepup build", cfg.Patch)
	}
	if info.Release() != cfg.Kernel.Release {
		return nil, fmt.Errorf("vmtest: patch %s is built for kernel %s, not %s: build it with keepup build --kernel %s", cfg.Patch, info.Release(), cfg.Kernel.Release, cfg.Kernel.Release)
	}
	return info, nil
}

func progress(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		cfg.Progress(fmt.Sprintf(format, args...))
	}
}

func (cfg Config) applyTimeout() time.Duration {
	if cfg.ApplyTimeout <= 0 {
		return DefaultApplyTimeout
	}
	return cfg.ApplyTimeout
}

func patchFiles(cfg Config) []File {
	files := append([]File(nil), cfg.Files...)
	return append(files,
		File{Guest: guestKeepup, Host: cfg.Keepup, Mode: 0o755},
		File{Guest: guestPatch, Host: cfg.Patch, Mode: 0o644},
		File{Guest: guestCheck, Host: cfg.Check, Mode: 0o755},
	)
}

// patchScript returns the guest steps of a patch test. Every step runs
// even after a failure, so the result shows the whole sequence.
func patchScript(name string, timeout time.Duration) string {
	lines := []string{
		stepLine(StepCheckBefore, "sh", guestCheck),
		stepLine(StepApply, guestKeepup, "apply", guestPatch, "--timeout", timeout.String()),
		stepLine(StepCheckApplied, "sh", guestCheck),
		stepLine(StepList, guestKeepup, "list"),
		stepLine(StepRevert, guestKeepup, "revert", name, "--timeout", timeout.String()),
		stepLine(StepCheckReverted, "sh", guestCheck),
	}
	return strings.Join(lines, "\n")
}

// evaluate compares the boot's steps, kernel log and boot ids with what a
// passing patch test needs.
func evaluate(boot *BootResult) *Result {
	result := &Result{Boot: boot}
	for _, want := range patchSteps {
		step, found := boot.Step(want.name)
		if !found {
			step = Step{Name: want.name, Status: -1}
		}
		ok := step.Finished && (step.Status == 0) == (want.expect == ExpectSuccess)
		result.Steps = append(result.Steps, StepResult{Step: step, Expect: want.expect, OK: ok})
		if !ok {
			result.Failures = append(result.Failures, stepFailure(step, want.why))
		}
	}

	for _, line := range boot.Problems {
		result.Failures = append(result.Failures, "kernel log: "+line)
	}
	if boot.Completed && boot.BootIDStart != boot.BootIDEnd {
		result.Failures = append(result.Failures, fmt.Sprintf("boot id changed from %s to %s: the guest rebooted", boot.BootIDStart, boot.BootIDEnd))
	}
	return result
}

func stepFailure(step Step, why string) string {
	if !step.Finished {
		return fmt.Sprintf("step %s did not finish: %s", step.Name, why)
	}
	return fmt.Sprintf("step %s exited with status %d: %s", step.Name, step.Status, why)
}

// TestError reports a patch test that ran and failed.
type TestError struct {
	Failures []string
}

func (e *TestError) Error() string {
	return "patch test failed:\n  " + strings.Join(e.Failures, "\n  ")
}
