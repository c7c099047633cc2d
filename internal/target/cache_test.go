package target

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockKernelExclusive(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockKernel(context.Background(), dir, "6.1.0-57-amd64", func(string) {})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var waited []string
	_, err = lockKernel(ctx, dir, "6.1.0-57-amd64", func(msg string) { waited = append(waited, msg) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second lock: error = %v, want a deadline error", err)
	}
	if len(waited) != 1 {
		t.Errorf("second lock reported %d progress lines, want 1: %q", len(waited), waited)
	}

	unlock()
	unlock2, err := lockKernel(context.Background(), dir, "6.1.0-57-amd64", func(string) {})
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".6.1.0-57-amd64.123", ".6.1.0-57-amd64.456.link", ".6.1.0-56-amd64.789"} {
		if err := os.MkdirAll(filepath.Join(dir, name, "source"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeStale(dir, "6.1.0-57-amd64"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".6.1.0-57-amd64.123", ".6.1.0-57-amd64.456.link"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: stat error %v, want it removed", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".6.1.0-56-amd64.789")); err != nil {
		t.Errorf("another release's directory was touched: %v", err)
	}
}

// compilerConfig writes a config naming gcc-12 as installed here and
// returns its path, or skips the test if gcc-12 is missing.
func compilerConfig(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("gcc-12", "--version").Output()
	if err != nil {
		t.Skipf("gcc-12 not installed: %v", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(`CONFIG_CC_VERSION_TEXT="`+first+`"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPublishAndLoad(t *testing.T) {
	kernels := t.TempDir()
	if _, err := loadKernel(kernels, "6.1.0-57-amd64"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load before publish: error = %v, want ErrNotExist", err)
	}
	dir, err := os.MkdirTemp(kernels, ".6.1.0-57-amd64.")
	if err != nil {
		t.Fatal(err)
	}
	k := &Kernel{Release: "6.1.0-57-amd64", Version: "6.1.192-3", Dir: dir, Config: compilerConfig(t, dir), MakeVars: []string{"CC=gcc-12"}}
	if err := publish(k, kernels, dir); err != nil {
		t.Fatal(err)
	}
	got, err := loadKernel(kernels, "6.1.0-57-amd64")
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != dir || got.Version != "6.1.192-3" || len(got.MakeVars) != 1 {
		t.Errorf("loaded %+v, want %+v", got, k)
	}
	link, err := os.Readlink(filepath.Join(kernels, "6.1.0-57-amd64"))
	if err != nil || link != filepath.Base(dir) {
		t.Errorf("link = %q, %v; want %q", link, err, filepath.Base(dir))
	}
}

func TestLoadRejectsOtherCompiler(t *testing.T) {
	kernels := t.TempDir()
	dir, err := os.MkdirTemp(kernels, ".6.1.0-57-amd64.")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte(`CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 0.0.0-1) 0.0.0"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	compilerConfig(t, t.TempDir())
	if err := publish(&Kernel{Release: "6.1.0-57-amd64", Dir: dir, Config: config}, kernels, dir); err != nil {
		t.Fatal(err)
	}
	_, err = loadKernel(kernels, "6.1.0-57-amd64")
	if err == nil || !strings.Contains(err.Error(), "gcc-12 (Debian 0.0.0-1) 0.0.0") {
		t.Errorf("error = %v, want a compiler mismatch naming the kernel's compiler", err)
	}
}
