package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/keepup/keepup/internal/target"
	"github.com/keepup/keepup/internal/vmtest"
)

func init() {
	register(command{name: "vmtest", summary: "prove a live patch in a virtual machine running the target kernel", run: runVMTest})
}

type vmtestFlags struct {
	kernel     string
	check      string
	cacheDir   string
	accel      string
	loader     string
	keepup     string
	timeout    time.Duration
	transition time.Duration
}

func runVMTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var vf vmtestFlags
	fs := newFlagSet("vmtest", "--kernel RELEASE PATCH.ko --check ./check.sh [options]",
		"Boot the target kernel under QEMU with no network and, in the guest, run the check script\n"+
			"(it must fail), apply the patch with keepup (it must succeed), run the check (it must\n"+
			"pass), list and revert the patch, and run the check again (it must fail). The kernel log\n"+
			"must show no oops, BUG, WARNING, call trace, general protection fault or panic.\n"+
			"The check script runs under busybox sh as root and exits 0 when the fix is in effect.\n"+
			"Exit status: 0 the patch passed, 2 the patch test failed, 1 other error.", stdout)
	fs.StringVar(&vf.kernel, "kernel", "", "target kernel release, as uname -r prints it (required)")
	fs.StringVar(&vf.check, "check", "", "shell script that exits 0 when the fix is in effect (required)")
	fs.StringVar(&vf.cacheDir, "cache-dir", "", "cache for kernel packages and prepared trees (default: the user cache dir + /keepup)")
	fs.StringVar(&vf.accel, "accel", vmtest.AccelAuto, "QEMU accelerator: auto (a trial boot decides between kvm and tcg), tcg or kvm")
	fs.StringVar(&vf.loader, "loader", vmtest.LoaderImage, "how QEMU starts the kernel: image (its own decompressor, with KASLR, as on the target) or pvh (the extracted vmlinux, faster under TCG, without KASLR)")
	fs.StringVar(&vf.keepup, "keepup", "", "statically linked keepup binary for the guest (default: this binary)")
	fs.DurationVar(&vf.timeout, "timeout", vmtest.DefaultBootTimeout, "limit for the whole virtual machine run")
	fs.DurationVar(&vf.transition, "transition-timeout", vmtest.DefaultApplyTimeout, "limit for each transition in the guest (keepup apply and revert --timeout)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || vf.kernel == "" || vf.check == "" {
		fs.printUsage(stderr)
		return withExitCode(exitError, errors.New("vmtest needs --kernel RELEASE, --check SCRIPT and one module file"))
	}
	return vmtestPatch(ctx, vf, pos[0], stdout, stderr)
}

func vmtestPatch(ctx context.Context, vf vmtestFlags, patch string, stdout, stderr io.Writer) error {
	keepup, err := guestKeepup(vf.keepup)
	if err != nil {
		return err
	}
	logf := func(msg string) { fmt.Fprintf(stderr, "keepup: %s\n", msg) }
	kernel, err := (&target.Debian{CacheDir: vf.cacheDir, Progress: logf}).Prepare(ctx, vf.kernel)
	if err != nil {
		return err
	}

	start := time.Now()
	result, err := vmtest.Run(ctx, vmtest.Config{
		Kernel:       kernel,
		Keepup:       keepup,
		Patch:        patch,
		Check:        vf.check,
		Timeout:      vf.timeout,
		ApplyTimeout: vf.transition,
		Accel:        vf.accel,
		Loader:       vf.loader,
		Progress:     logf,
	})
	if result == nil {
		return err
	}

	printVMTest(stdout, result, kernel.Release, time.Since(start))
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("patch test of %s interrupted: %w", patch, ctx.Err())
	case err != nil && !reachedGuestSteps(result):
		return fmt.Errorf("patch test of %s did not run: the guest never reached the first check (see the guest output above)", patch)
	case err != nil:
		return withExitCode(exitRejected, fmt.Errorf("patch test of %s failed: %d problems, listed above", patch, len(result.Failures)))
	}
	return nil
}

// reachedGuestSteps reports whether the guest ran at least the first
// check. That separates a failed patch from a virtual machine that never
// reached its first step.
func reachedGuestSteps(result *vmtest.Result) bool {
	return len(result.Steps) > 0 && result.Steps[0].Finished
}

// guestKeepup returns the keepup binary to copy into the guest: path, or
// this executable when path is empty. The guest has no C library, so the
// binary must be statically linked.
func guestKeepup(path string) (string, error) {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this keepup binary: %w; pass --keepup", err)
		}
		path = self
	}
	static, err := vmtest.IsStatic(path)
	if err != nil {
		return "", err
	}
	if !static {
		return "", fmt.Errorf("keepup binary %s is dynamically linked and cannot run in the guest: "+
			"rebuild it with CGO_ENABLED=0 go build ./cmd/keepup, or pass --keepup with a static build", path)
	}
	return path, nil
}

// printVMTest prints each step with its verdict and output, the boot ids,
// and on failure the reasons and the kernel log.
func printVMTest(w io.Writer, result *vmtest.Result, release string, elapsed time.Duration) {
	boot := result.Boot
	fmt.Fprintf(w, "vmtest on %s (%s, %s)\n", release, boot.Accel, elapsed.Round(100*time.Millisecond))
	for _, step := range result.Steps {
		printStep(w, step)
	}
	fmt.Fprintf(w, "boot id: %s at the start, %s at the end\n", orNone(boot.BootIDStart), orNone(boot.BootIDEnd))
	fmt.Fprintf(w, "uptime: %s at the start, %s at the end\n", orNone(boot.UptimeStart), orNone(boot.UptimeEnd))

	if result.OK() {
		fmt.Fprintln(w, "kernel log: clean")
		fmt.Fprintln(w, "result: PASS")
		return
	}
	fmt.Fprintln(w, "kernel log:")
	printIndented(w, boot.KernelLog)
	if !boot.Completed {
		fmt.Fprintln(w, "guest output:")
		printIndented(w, boot.Guest)
	}
	fmt.Fprintln(w, "result: FAIL")
	for _, failure := range result.Failures {
		fmt.Fprintf(w, "  %s\n", failure)
	}
}

func printStep(w io.Writer, step vmtest.StepResult) {
	verdict := "PASS"
	if !step.OK {
		verdict = "FAIL"
	}
	status := "did not finish"
	if step.Finished {
		status = fmt.Sprintf("exit %d", step.Status)
	}
	fmt.Fprintf(w, "%s  %-15s expected %s, %s\n", verdict, step.Name, step.Expect, status)
	printIndented(w, step.Output)
}

func printIndented(w io.Writer, text string) {
	text = strings.TrimRight(printable(text), "\n")
	if text == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "      | %s\n", line)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// terminalControl matches escape sequences that the guest's firmware and
// console write, which would reset or clear the user's terminal.
var terminalControl = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[^\[])|[\x00-\x08\x0b-\x1f\x7f]`)

// printable removes terminal escape sequences and control characters
// other than tab and newline from guest output.
func printable(text string) string {
	return terminalControl.ReplaceAllString(text, "")
}
