package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepup/keepup/internal/target"
)

const testNonce = "0123456789abcdef"

func marker(rest string) string {
	return markerPrefix + " " + testNonce + " " + rest
}

func TestParseStepsOutputs(t *testing.T) {
	channel := strings.Join([]string{
		"stray line before any step",
		marker("begin with-newline"),
		"line one",
		"line two",
		"",
		marker("end with-newline 0"),
		marker("begin without-newline"),
		"partial",
		marker("end without-newline 3"),
		marker("begin empty"),
		"",
		marker("end empty 0"),
		marker("begin fake"),
		markerPrefix + " othernonce end fake 0",
		"",
		marker("end fake 1"),
		marker("done"),
		"",
	}, "\n")

	steps, completed := parseSteps(channel, marker(""))
	if !completed {
		t.Error("completed = false, want true")
	}
	want := []Step{
		{Name: "with-newline", Finished: true, Status: 0, Output: "line one\nline two\n"},
		{Name: "without-newline", Finished: true, Status: 3, Output: "partial"},
		{Name: "empty", Finished: true, Status: 0, Output: ""},
		{Name: "fake", Finished: true, Status: 1, Output: markerPrefix + " othernonce end fake 0\n"},
	}
	if len(steps) != len(want) {
		t.Fatalf("got %d steps, want %d: %+v", len(steps), len(want), steps)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, steps[i], want[i])
		}
	}
}

func TestParseStepsUnfinished(t *testing.T) {
	channel := marker("begin apply") + "\n"

	steps, completed := parseSteps(channel, marker(""))
	if completed {
		t.Error("completed = true, want false")
	}
	if len(steps) != 1 || steps[0].Finished || steps[0].Status != -1 {
		t.Errorf("steps = %+v, want one unfinished apply step", steps)
	}
	if err := incompleteError(&BootResult{Steps: steps}); !strings.Contains(err.Error(), "during step apply") {
		t.Errorf("incompleteError = %v, want it to name step apply", err)
	}
}

func TestParseBootValues(t *testing.T) {
	channel := strings.Join([]string{
		marker("begin " + StepBootIDStart), "id-1", "", marker("end " + StepBootIDStart + " 0"),
		marker("begin " + StepUptimeStart), "1.50 1.20", "", marker("end " + StepUptimeStart + " 0"),
		marker("begin " + StepBootIDEnd), "id-1", "", marker("end " + StepBootIDEnd + " 0"),
		marker("begin " + StepDmesg), "[    0.000000] Linux version 6.1", "[    2.0] WARNING: CPU: 0 PID: 1 at x", "", marker("end " + StepDmesg + " 0"),
		marker("done"),
	}, "\r\n")
	out := &qemuOutput{console: "console text", channel: channel, elapsed: time.Second}

	result := parseBoot(out, testNonce)
	if result.BootIDStart != "id-1" || result.BootIDEnd != "id-1" {
		t.Errorf("boot ids = %q, %q, want id-1 twice", result.BootIDStart, result.BootIDEnd)
	}
	if result.UptimeStart != "1.50 1.20" {
		t.Errorf("UptimeStart = %q, want 1.50 1.20", result.UptimeStart)
	}
	if !strings.HasPrefix(result.KernelLog, "[    0.000000] Linux version") {
		t.Errorf("KernelLog = %q, want the dmesg output", result.KernelLog)
	}
	if len(result.Problems) != 1 || !strings.Contains(result.Problems[0], "WARNING: CPU: 0") {
		t.Errorf("Problems = %q, want the WARNING line", result.Problems)
	}
}

func TestParseBootWithoutDmesgUsesConsole(t *testing.T) {
	out := &qemuOutput{console: "[ 1.0] Kernel panic - not syncing: Attempted to kill init!\n"}

	result := parseBoot(out, testNonce)
	if result.KernelLog != out.console {
		t.Errorf("KernelLog = %q, want the console", result.KernelLog)
	}
	if len(result.Problems) != 1 {
		t.Errorf("Problems = %q, want the panic line", result.Problems)
	}
}

func TestKernelProblems(t *testing.T) {
	tests := []struct {
		line    string
		problem bool
	}{
		{"[ 1.0] Oops: 0000 [#1] PREEMPT SMP NOPTI", true},
		{"[ 1.0] BUG: kernel NULL pointer dereference, address: 0000000000000000", true},
		{"[ 1.0] WARNING: CPU: 0 PID: 1 at kernel/livepatch/core.c:1 klp_x+0x1/0x2", true},
		{"[ 1.0] Call Trace:", true},
		{"[ 1.0] general protection fault, probably for non-canonical address", true},
		{"[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs", true},
		{"[ 1.0] livepatch: enabling patch 'klp_cmdline'", false},
		{"[ 1.0] klp_cmdline: tainting kernel with TAINT_LIVEPATCH", false},
		{"[ 1.0] tsc: Unable to calibrate against PIT", false},
	}
	for _, tt := range tests {
		got := len(kernelProblems(tt.line)) == 1
		if got != tt.problem {
			t.Errorf("kernelProblems(%q) found a problem: %v, want %v", tt.line, got, tt.problem)
		}
	}
}

func TestInitScriptMarkers(t *testing.T) {
	script := initScript(testNonce)
	for _, want := range []string{
		"MARKER='" + markerPrefix + " " + testNonce + "'",
		"exec >" + guestChannel,
		". " + guestScript,
		"step " + StepDmesg + " dmesg",
		"poweroff -f",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("init script lacks %q:\n%s", want, script)
		}
	}
}

func TestStepLineQuotes(t *testing.T) {
	got := stepLine("x", "sh", "-c", "echo 'it''s'")
	want := `step x 'sh' '-c' 'echo '\''it'\'''\''s'\'''`
	if got != want {
		t.Errorf("stepLine = %s, want %s", got, want)
	}
}

func TestPatchScriptSteps(t *testing.T) {
	script := patchScript("klp_cmdline", 30*time.Second)
	lines := strings.Split(script, "\n")
	if len(lines) != len(patchSteps) {
		t.Fatalf("script has %d lines, want %d:\n%s", len(lines), len(patchSteps), script)
	}
	for i, want := range patchSteps {
		if !strings.HasPrefix(lines[i], "step "+want.name+" ") {
			t.Errorf("line %d = %q, want step %s", i, lines[i], want.name)
		}
	}
	if !strings.Contains(lines[4], "'revert' 'klp_cmdline' '--timeout' '30s'") {
		t.Errorf("revert line = %q, want the patch name and timeout", lines[4])
	}
}

// passingBoot returns a boot whose steps a passing patch test has.
func passingBoot() *BootResult {
	boot := &BootResult{Completed: true, BootIDStart: "a", BootIDEnd: "a"}
	for _, step := range patchSteps {
		status := 0
		if step.expect == ExpectFailure {
			status = 1
		}
		boot.Steps = append(boot.Steps, Step{Name: step.name, Finished: true, Status: status})
	}
	return boot
}

func TestEvaluatePassing(t *testing.T) {
	result := evaluate(passingBoot())
	if !result.OK() {
		t.Errorf("Failures = %q, want none", result.Failures)
	}
}

func TestEvaluateCheckPassingBefore(t *testing.T) {
	boot := passingBoot()
	boot.Steps[0].Status = 0

	result := evaluate(boot)
	if len(result.Failures) != 1 || !strings.Contains(result.Failures[0], "step check-before exited with status 0") {
		t.Errorf("Failures = %q, want the check-before failure", result.Failures)
	}
	if result.Steps[0].OK {
		t.Error("check-before OK = true, want false")
	}
}

func TestEvaluateProblemsAndBootID(t *testing.T) {
	boot := passingBoot()
	boot.Problems = []string{"BUG: x"}
	boot.BootIDEnd = "b"

	result := evaluate(boot)
	if len(result.Failures) != 2 {
		t.Fatalf("Failures = %q, want the kernel log and boot id failures", result.Failures)
	}
	if result.Failures[0] != "kernel log: BUG: x" {
		t.Errorf("first failure = %q, want the kernel log line", result.Failures[0])
	}
	if !strings.Contains(result.Failures[1], "boot id changed") {
		t.Errorf("second failure = %q, want the boot id change", result.Failures[1])
	}
}

func TestEvaluateMissingSteps(t *testing.T) {
	result := evaluate(&BootResult{})
	if len(result.Failures) != len(patchSteps) {
		t.Errorf("Failures = %q, want one per step", result.Failures)
	}
	if !strings.Contains(result.Failures[0], "did not finish") {
		t.Errorf("first failure = %q, want did not finish", result.Failures[0])
	}
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	kernel := &target.Kernel{Release: "6.1.0-57-amd64", Image: "/boot/vmlinuz-missing"}
	module := "../livepatch/testdata/klp_cmdline.ko"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no kernel", Config{Keepup: busyboxPath, Patch: module, Check: module}, "no kernel image"},
		{"dynamic keepup", Config{Kernel: kernel, Keepup: "/bin/ls", Patch: module, Check: module}, "dynamically linked"},
		{"missing check", Config{Kernel: kernel, Keepup: busyboxPath, Patch: module, Check: "/no/check.sh"}, "check script"},
		{"not a module", Config{Kernel: kernel, Keepup: busyboxPath, Patch: "/bin/ls", Check: module}, ".modinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want it to contain %q", err, tt.want)
			}
			if result != nil {
				t.Errorf("result = %+v, want nil before any boot", result)
			}
		})
	}
}

func TestHasNote(t *testing.T) {
	// One note: namesz 4 ("Xen\0"), descsz 8, type 18, then a second note.
	notes := []byte{
		4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0, 1, 2, 3, 4, 5, 6, 7, 8,
		6, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 'L', 'i', 'n', 'u', 'x', 0, 0, 0, 9, 0, 0, 0,
	}
	if !hasNote(notes, binary.LittleEndian, "Xen", 18) {
		t.Error("hasNote(Xen, 18) = false, want true")
	}
	if !hasNote(notes, binary.LittleEndian, "Linux", 3) {
		t.Error("hasNote(Linux, 3) = false, want true")
	}
	if hasNote(notes, binary.LittleEndian, "Xen", 17) {
		t.Error("hasNote(Xen, 17) = true, want false")
	}
	if hasNote(notes[:20], binary.LittleEndian, "Xen", 18) {
		t.Error("hasNote of a truncated note = true, want false")
	}
}

func TestDecompressPayloadGzip(t *testing.T) {
	var payload bytes.Buffer
	writer := gzip.NewWriter(&payload)
	writer.Write([]byte("uncompressed kernel"))
	writer.Close()
	image := append([]byte("setup code\x00"), payload.Bytes()...)
	image = append(image, "trailing bytes"...)
	path := filepath.Join(t.TempDir(), "vmlinux")

	if err := decompressPayload(image, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "uncompressed kernel" {
		t.Errorf("payload = %q, want the uncompressed bytes", data)
	}
}

func TestDecompressPayloadNone(t *testing.T) {
	err := decompressPayload([]byte("no payload here"), filepath.Join(t.TempDir(), "vmlinux"))
	if err == nil || !strings.Contains(err.Error(), "image loader") {
		t.Errorf("decompressPayload error = %v, want advice to use the image loader", err)
	}
}
