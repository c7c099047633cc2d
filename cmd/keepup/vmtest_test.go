package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepup/keepup/internal/target/targettest"
)

func TestPrintableStripsTerminalControl(t *testing.T) {
	in := "\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\n\tline\x07 two"
	if got, want := printable(in), "SeaBIOS\n\tline two"; got != want {
		t.Errorf("printable(%q) = %q, want %q", in, got, want)
	}
}

// runVMTestWith runs keepup vmtest on module with a trivial check script.
func runVMTestWith(t *testing.T, module string) (string, int) {
	t.Helper()
	k := targettest.Kernel(t)
	dir := t.TempDir()
	check := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(check, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"vmtest", "--kernel", k.Release, "--accel", "tcg"}, cacheArgs()...)
	_, stderr, status := runKeepup(t, dir, append(args, module, "--check", check)...)
	return stderr, status
}

func TestVMTestRejectsNonModule(t *testing.T) {
	module := filepath.Join(t.TempDir(), "text.ko")
	if err := os.WriteFile(module, []byte("# not a module\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, status := runVMTestWith(t, module)
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "not a kernel module") {
		t.Errorf("error does not say the file is not a module:\n%s", stderr)
	}
	if strings.Contains(stderr, "booting") {
		t.Errorf("vmtest booted a guest for a file that is not a module:\n%s", stderr)
	}
}

func TestVMTestRejectsOtherKernel(t *testing.T) {
	k := targettest.Kernel(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "internal", "livepatch", "testdata", "klp_cmdline.ko"))
	if err != nil {
		t.Fatal(err)
	}
	oldMagic := []byte("vermagic=" + k.Release + " ")
	other := strings.Replace(k.Release, "-57-", "-56-", 1)
	if !bytes.Contains(data, oldMagic) || other == k.Release {
		t.Skipf("fixture module is not built for %s", k.Release)
	}
	module := filepath.Join(t.TempDir(), "other.ko")
	if err := os.WriteFile(module, bytes.Replace(data, oldMagic, []byte("vermagic="+other+" "), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, status := runVMTestWith(t, module)
	if status != exitError {
		t.Fatalf("exit status %d, want %d\n%s", status, exitError, stderr)
	}
	if !strings.Contains(stderr, "built for kernel "+other) {
		t.Errorf("error does not name the module's kernel:\n%s", stderr)
	}
	if strings.Contains(stderr, "booting") {
		t.Errorf("vmtest booted a guest for a module of another kernel:\n%s", stderr)
	}
}
