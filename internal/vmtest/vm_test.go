package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepup/keepup/internal/livepatch"
	"github.com/keepup/keepup/internal/target"
	"github.com/keepup/keepup/internal/target/targettest"
)

// The tests below boot the kernel that KEEPUP_TEST_KERNEL names (see
// targettest) under QEMU with TCG, and skip when it is unset.

// patchSource is the test live patch: while it is enabled, /proc/cmdline
// prints patchedCmdline.
const (
	patchSource    = "../livepatch/testdata/klp_cmdline"
	patchName      = "klp_cmdline"
	patchedCmdline = "keepup-test: cmdline patched"
)

// checkScript passes while the test patch is applied.
const checkScript = "#!/bin/sh\ncat /proc/cmdline\ngrep -qx '" + patchedCmdline + "' /proc/cmdline\n"

var (
	keepupOnce   sync.Once
	keepupBinary string
	keepupErr    error
)

// TestMain removes the keepup binary that buildKeepup built.
func TestMain(m *testing.M) {
	code := m.Run()
	if keepupBinary != "" {
		os.RemoveAll(filepath.Dir(keepupBinary))
	}
	os.Exit(code)
}

// buildKeepup builds a static keepup binary once per test binary.
func buildKeepup(t *testing.T) string {
	t.Helper()
	keepupOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keepup-vmtest-bin-")
		if err != nil {
			keepupErr = err
			return
		}
		keepupBinary = filepath.Join(dir, "keepup")
		cmd := exec.Command("go", "build", "-o", keepupBinary, "github.com/keepup/keepup/cmd/keepup")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if output, err := cmd.CombinedOutput(); err != nil {
			keepupErr = fmt.Errorf("go build ./cmd/keepup: %w\n%s", err, output)
		}
	})
	if keepupErr != nil {
		t.Fatal(keepupErr)
	}
	return keepupBinary
}

// buildPatch builds the test live patch against the kernel's headers in a
// copy of its source directory and checks its vermagic.
func buildPatch(t *testing.T, kernel *target.Kernel) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"klp_cmdline.c", "Kbuild"} {
		data, err := os.ReadFile(filepath.Join(patchSource, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command("make", "-C", kernel.HeadersDir, "M="+dir, "modules")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make modules: %v\n%s", err, output)
	}
	module := filepath.Join(dir, patchName+".ko")
	info, err := livepatch.ReadModinfo(module)
	if err != nil {
		t.Fatal(err)
	}
	want := kernel.Release + " SMP preempt mod_unload modversions"
	if info.Vermagic != want {
		t.Fatalf("test patch vermagic = %q, want %q", info.Vermagic, want)
	}
	return module
}

// buildModules builds the modules of a testdata directory against the
// kernel's headers in a copy of it and returns the directory of the .ko
// files.
func buildModules(t *testing.T, kernel *target.Kernel, source string) string {
	t.Helper()
	entries, err := os.ReadDir(source)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(source, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, entry.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command("make", "-C", kernel.HeadersDir, "M="+dir, "modules")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make modules in %s: %v\n%s", source, err, output)
	}
	return dir
}

func writeScript(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// logBoot logs the steps and the console of a boot.
func logBoot(t *testing.T, boot *BootResult) {
	t.Helper()
	if boot == nil {
		return
	}
	for _, step := range boot.Steps {
		t.Logf("step %s (finished %v, status %d):\n%s", step.Name, step.Finished, step.Status, step.Output)
	}
	t.Logf("console:\n%s", boot.Console)
}

func TestRunCmdlinePatch(t *testing.T) {
	kernel := targettest.Kernel(t)
	keepup := buildKeepup(t)
	patch := buildPatch(t, kernel)
	var progress bytes.Buffer

	start := time.Now()
	result, err := Run(context.Background(), Config{
		Kernel:   kernel,
		Keepup:   keepup,
		Patch:    patch,
		Check:    writeScript(t, checkScript),
		Accel:    AccelTCG,
		Progress: func(line string) { progress.WriteString(line + "\n") },
	})
	elapsed := time.Since(start)
	if result != nil {
		logBoot(t, result.Boot)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("patch test wall time %s (guest uptime %s to %s)", elapsed.Round(time.Millisecond), result.Boot.UptimeStart, result.Boot.UptimeEnd)

	wantStatus := map[string]bool{ // step name: exit status 0
		StepCheckBefore: false, StepApply: true, StepCheckApplied: true,
		StepList: true, StepRevert: true, StepCheckReverted: false,
	}
	if len(result.Steps) != len(wantStatus) {
		t.Fatalf("got %d steps, want %d", len(result.Steps), len(wantStatus))
	}
	for _, step := range result.Steps {
		if !step.OK {
			t.Errorf("step %s not OK: status %d", step.Name, step.Status)
		}
		if (step.Status == 0) != wantStatus[step.Name] {
			t.Errorf("step %s status %d, want success %v", step.Name, step.Status, wantStatus[step.Name])
		}
	}

	before, _ := result.Boot.Step(StepCheckBefore)
	applied, _ := result.Boot.Step(StepCheckApplied)
	reverted, _ := result.Boot.Step(StepCheckReverted)
	if !strings.Contains(before.Output, "console=ttyS0") {
		t.Errorf("check before printed %q, want the boot command line", before.Output)
	}
	if strings.TrimSpace(applied.Output) != patchedCmdline {
		t.Errorf("check after apply printed %q, want %q", applied.Output, patchedCmdline)
	}
	if !strings.Contains(reverted.Output, "console=ttyS0") {
		t.Errorf("check after revert printed %q, want the boot command line", reverted.Output)
	}

	apply, _ := result.Boot.Step(StepApply)
	if !strings.Contains(apply.Output, "done: patch klp_cmdline applied in") {
		t.Errorf("apply output lacks the done line:\n%s", apply.Output)
	}
	list, _ := result.Boot.Step(StepList)
	if !strings.Contains(list.Output, "klp_cmdline") || !strings.Contains(list.Output, "vmlinux:cmdline_proc_show") {
		t.Errorf("list output lacks the patch and its function:\n%s", list.Output)
	}
	if result.Boot.BootIDStart == "" || result.Boot.BootIDStart != result.Boot.BootIDEnd {
		t.Errorf("boot ids %q and %q, want the same non-empty id", result.Boot.BootIDStart, result.Boot.BootIDEnd)
	}
	if len(result.Boot.Problems) != 0 {
		t.Errorf("kernel log problems: %q", result.Boot.Problems)
	}
	if !strings.Contains(result.Boot.KernelLog, "livepatch: 'klp_cmdline': patching complete") {
		t.Errorf("kernel log lacks the patching complete line")
	}
	if !strings.Contains(progress.String(), "guest: step check-applied exited with status 0") {
		t.Errorf("progress lacks the step lines:\n%s", progress.String())
	}
}

func TestRunFailsWhenCheckPassesBefore(t *testing.T) {
	kernel := targettest.Kernel(t)
	keepup := buildKeepup(t)
	patch := buildPatch(t, kernel)

	result, err := Run(context.Background(), Config{
		Kernel: kernel,
		Keepup: keepup,
		Patch:  patch,
		Check:  writeScript(t, "#!/bin/sh\nexit 0\n"),
		Accel:  AccelTCG,
	})
	var testErr *TestError
	if !errors.As(err, &testErr) {
		t.Fatalf("Run error = %v, want a TestError", err)
	}
	if result == nil || result.OK() {
		t.Fatalf("result = %+v, want failures", result)
	}
	if !strings.Contains(err.Error(), "step check-before exited with status 0") {
		t.Errorf("error does not name the check before the patch: %v", err)
	}
	if !strings.Contains(err.Error(), "step check-reverted exited with status 0") {
		t.Errorf("error does not name the check after revert: %v", err)
	}
	if !result.Steps[1].OK {
		t.Errorf("apply step not OK in a failing run: %+v", result.Steps[1])
	}
}

// TestKeepupRejectsInGuest boots once for the runtime's error paths: a
// module for another release, a revert of an unknown name and a second
// apply, and for revert by module path.
func TestKeepupRejectsInGuest(t *testing.T) {
	kernel := targettest.Kernel(t)
	keepup := buildKeepup(t)
	patch := buildPatch(t, kernel)

	data, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	oldMagic := "vermagic=" + kernel.Release + " "
	newMagic := "vermagic=9.9.9-99-amd64 "
	if len(oldMagic) != len(newMagic) || !bytes.Contains(data, []byte(oldMagic)) {
		t.Fatalf("cannot replace %q with %q in %s", oldMagic, newMagic, patch)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.ko")
	if err := os.WriteFile(wrong, bytes.Replace(data, []byte(oldMagic), []byte(newMagic), 1), 0o644); err != nil {
		t.Fatal(err)
	}

	result, err := Boot(context.Background(), BootConfig{
		Image: kernel.Image,
		Files: []File{
			{Guest: "/bin/keepup", Host: keepup, Mode: 0o755},
			{Guest: "/wrong.ko", Host: wrong},
			{Guest: "/patch.ko", Host: patch},
		},
		Script: strings.Join([]string{
			stepLine("apply-wrong", "keepup", "apply", "/wrong.ko"),
			stepLine("list", "keepup", "list"),
			stepLine("revert-unknown", "keepup", "revert", "no_such_patch"),
			stepLine("taint", "cat", "/proc/sys/kernel/tainted"),
			stepLine("apply", "keepup", "apply", "/patch.ko"),
			stepLine("apply-again", "keepup", "apply", "/patch.ko"),
			stepLine("revert-other", "keepup", "revert", "no_such_patch"),
			stepLine("list-json", "keepup", "list", "--json"),
			stepLine("revert-by-path", "keepup", "revert", "/patch.ko"),
			stepLine("list-empty-json", "keepup", "list", "--json"),
		}, "\n"),
		Accel: AccelTCG,
	})
	logBoot(t, result)
	if err != nil {
		t.Fatal(err)
	}

	apply, _ := result.Step("apply-wrong")
	if apply.Status == 0 {
		t.Errorf("apply of a module for 9.9.9-99-amd64 succeeded")
	}
	for _, want := range []string{"built for kernel 9.9.9-99-amd64", "this machine runs " + kernel.Release, "build the patch for " + kernel.Release} {
		if !strings.Contains(apply.Output, want) {
			t.Errorf("apply output lacks %q:\n%s", want, apply.Output)
		}
	}
	list, _ := result.Step("list")
	if list.Status != 0 || !strings.Contains(list.Output, "no live patches loaded") {
		t.Errorf("list after the rejected apply: status %d, output %q", list.Status, list.Output)
	}
	revert, _ := result.Step("revert-unknown")
	if revert.Status == 0 {
		t.Error("revert of an unknown name succeeded")
	}
	if !strings.Contains(revert.Output, "patch no_such_patch is not loaded, and no live patches are loaded") {
		t.Errorf("revert output = %q, want the not-loaded error", revert.Output)
	}
	taint, _ := result.Step("taint")
	if strings.TrimSpace(taint.Output) != "0" {
		t.Errorf("tainted = %q, want 0: the rejected module must not have been loaded", taint.Output)
	}

	apply, _ = result.Step("apply")
	if apply.Status != 0 {
		t.Errorf("apply of the test patch: status %d, output:\n%s", apply.Status, apply.Output)
	}
	again, _ := result.Step("apply-again")
	if again.Status == 0 || !strings.Contains(again.Output, "patch klp_cmdline is already loaded") {
		t.Errorf("second apply: status %d, output %q, want the already-loaded error", again.Status, again.Output)
	}
	other, _ := result.Step("revert-other")
	if other.Status == 0 || !strings.Contains(other.Output, "loaded patches: klp_cmdline") {
		t.Errorf("revert of an unknown name: status %d, output %q, want the loaded patches listed", other.Status, other.Output)
	}
	listJSON, _ := result.Step("list-json")
	if !strings.Contains(listJSON.Output, `"name": "cmdline_proc_show"`) || !strings.Contains(listJSON.Output, `"enabled": true`) {
		t.Errorf("list --json output lacks the patch:\n%s", listJSON.Output)
	}
	byPath, _ := result.Step("revert-by-path")
	if byPath.Status != 0 || !strings.Contains(byPath.Output, "reverted klp_cmdline") {
		t.Errorf("revert by module path: status %d, output:\n%s", byPath.Status, byPath.Output)
	}
	empty, _ := result.Step("list-empty-json")
	if strings.TrimSpace(empty.Output) != "[]" {
		t.Errorf("list --json after revert = %q, want []", empty.Output)
	}
	if len(result.Problems) != 0 {
		t.Errorf("kernel log problems: %q", result.Problems)
	}
}

func TestBootReadsKallsyms(t *testing.T) {
	kernel := targettest.Kernel(t)

	start := time.Now()
	result, err := Boot(context.Background(), BootConfig{
		Image:  kernel.Image,
		Script: stepLine("kallsyms", "grep", " cmdline_proc_show$", "/proc/kallsyms"),
		Accel:  AccelTCG,
	})
	logBoot(t, result)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot wall time %s", time.Since(start).Round(time.Millisecond))

	step, ok := result.Step("kallsyms")
	if !ok || step.Status != 0 {
		t.Fatalf("kallsyms step = %+v", step)
	}
	if !strings.Contains(step.Output, " t cmdline_proc_show") {
		t.Errorf("kallsyms output = %q, want a local text symbol cmdline_proc_show", step.Output)
	}
}

func TestBootTimeoutKillsQEMU(t *testing.T) {
	kernel := targettest.Kernel(t)

	start := time.Now()
	result, err := Boot(context.Background(), BootConfig{
		Image:   kernel.Image,
		Script:  stepLine("hang", "sleep", "600"),
		Accel:   AccelTCG,
		Timeout: 15 * time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Boot error = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 25*time.Second {
		t.Errorf("Boot returned after %s, want about 15s", elapsed)
	}
	if result == nil {
		t.Fatal("result = nil, want the logs of the killed guest")
	}
	if _, ok := result.Step(StepBootIDStart); !ok {
		t.Errorf("steps = %+v, want the start steps before the hang", result.Steps)
	}
}

// TestApplyBlockedTransitionInGuest applies a patch to a function that a
// reader sleeps in, so keepup apply must time out and name the reader. Once
// the reader leaves the function, the transition finishes and the patch
// reverts cleanly.
func TestApplyBlockedTransitionInGuest(t *testing.T) {
	kernel := targettest.Kernel(t)
	keepup := buildKeepup(t)
	modules := buildModules(t, kernel, "../livepatch/testdata/klp_busy")

	waitTransition := "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do " +
		"[ \"$(cat /sys/kernel/livepatch/klp_busy_fix/transition)\" = 0 ] && exit 0; sleep 1; done; exit 1"
	result, err := Boot(context.Background(), BootConfig{
		Image: kernel.Image,
		Files: []File{
			{Guest: "/bin/keepup", Host: keepup, Mode: 0o755},
			{Guest: "/busy/klp_busy_target.ko", Host: filepath.Join(modules, "klp_busy_target.ko")},
			{Guest: "/busy/klp_busy_fix.ko", Host: filepath.Join(modules, "klp_busy_fix.ko")},
		},
		Script: strings.Join([]string{
			stepLine("insmod", "insmod", "/busy/klp_busy_target.ko", "sleep_ms=6000"),
			"cat /proc/klp_busy_target >/tmp/reader.out &",
			"sleep 1",
			stepLine("apply-blocked", "keepup", "apply", "/busy/klp_busy_fix.ko", "--timeout", "2s"),
			stepLine("list-blocked", "keepup", "list"),
			"wait",
			stepLine("reader", "cat", "/tmp/reader.out"),
			stepLine("wait-transition", "sh", "-c", waitTransition),
			stepLine("read-patched", "cat", "/proc/klp_busy_target"),
			stepLine("revert", "keepup", "revert", "klp_busy_fix"),
			stepLine("rmmod", "rmmod", "klp_busy_target"),
		}, "\n"),
		Accel: AccelTCG,
	})
	logBoot(t, result)
	if err != nil {
		t.Fatal(err)
	}

	wantStatus := map[string]int{"insmod": 0, "apply-blocked": 1, "list-blocked": 0, "reader": 0,
		"wait-transition": 0, "read-patched": 0, "revert": 0, "rmmod": 0}
	for name, want := range wantStatus {
		step, ok := result.Step(name)
		if !ok || !step.Finished || step.Status != want {
			t.Errorf("step %s: finished %v, status %d, want status %d", name, step.Finished, step.Status, want)
		}
	}

	apply, _ := result.Step("apply-blocked")
	for _, want := range []string{"transition to the patched state timed out", "still unpatched", "(cat)", "klp_busy_target_wait", "keepup revert klp_busy_fix"} {
		if !strings.Contains(apply.Output, want) {
			t.Errorf("blocked apply output lacks %q:\n%s", want, apply.Output)
		}
	}
	if !strings.Contains(apply.Output, "1 tasks not yet patched") {
		t.Errorf("blocked apply output lacks the per-second progress:\n%s", apply.Output)
	}
	list, _ := result.Step("list-blocked")
	if !strings.Contains(list.Output, "klp_busy_fix  yes      yes") {
		t.Errorf("list during the blocked transition:\n%s", list.Output)
	}
	reader, _ := result.Step("reader")
	if strings.TrimSpace(reader.Output) != "wait returned 1" {
		t.Errorf("blocked reader printed %q, want the original function's result", reader.Output)
	}
	patched, _ := result.Step("read-patched")
	if strings.TrimSpace(patched.Output) != "wait returned 2" {
		t.Errorf("read after the transition printed %q, want the patched function's result", patched.Output)
	}
	if len(result.Problems) != 0 {
		t.Errorf("kernel log problems: %q", result.Problems)
	}
}

func TestRunCmdlinePatchPVH(t *testing.T) {
	kernel := targettest.Kernel(t)
	keepup := buildKeepup(t)
	patch := buildPatch(t, kernel)

	start := time.Now()
	result, err := Run(context.Background(), Config{
		Kernel: kernel,
		Keepup: keepup,
		Patch:  patch,
		Check:  writeScript(t, checkScript),
		Accel:  AccelTCG,
		Loader: LoaderPVH,
	})
	if result != nil {
		logBoot(t, result.Boot)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("patch test wall time with the PVH loader %s", time.Since(start).Round(time.Millisecond))

	applied, _ := result.Boot.Step(StepCheckApplied)
	if strings.TrimSpace(applied.Output) != patchedCmdline {
		t.Errorf("check after apply printed %q, want %q", applied.Output, patchedCmdline)
	}
	if !strings.Contains(result.Boot.KernelLog, "Linux version "+strings.TrimSuffix(kernel.Release, "-amd64")) {
		t.Errorf("kernel log lacks the Linux version line of %s", kernel.Release)
	}
}

func TestExtractVmlinuxHasPVHEntry(t *testing.T) {
	kernel := targettest.Kernel(t)

	path, err := extractVmlinux(kernel.Image, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < 10<<20 {
		t.Errorf("vmlinux is %d bytes, want an uncompressed kernel", info.Size())
	}
}
