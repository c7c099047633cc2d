package target_test

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keepup/keepup/internal/target"
	"github.com/keepup/keepup/internal/target/targettest"
)

func testCacheDir(t *testing.T) string {
	if dir := os.Getenv(targettest.CacheDirEnv); dir != "" {
		return dir
	}
	dir, err := target.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPrepareReusesCache(t *testing.T) {
	k := targettest.Kernel(t)
	d := &target.Debian{CacheDir: testCacheDir(t), Progress: func(msg string) { t.Errorf("second prepare did work: %s", msg) }}

	start := time.Now()
	again, err := d.Prepare(context.Background(), k.Release)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("second prepare took %v, want under a second", elapsed)
	}
	if !reflect.DeepEqual(again, k) {
		t.Errorf("second prepare returned %+v, want %+v", again, k)
	}
}

func TestPrepareArtifacts(t *testing.T) {
	k := targettest.Kernel(t)
	for _, p := range []string{k.Image, k.Config, k.Symvers, k.Vmlinux,
		filepath.Join(k.ModulesDir, "modules.dep"), filepath.Join(k.ModulesDir, "modules.builtin"),
		filepath.Join(k.BuildDir, ".config"), filepath.Join(k.BuildDir, "include/generated/autoconf.h"),
		filepath.Join(k.BuildDir, "tools/objtool/objtool"), filepath.Join(k.SourceDir, "Makefile")} {
		if info, err := os.Stat(p); err != nil || info.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", p, err)
		}
	}
	if k.Arch != "x86_64" || k.CC == "" || !strings.HasPrefix(k.Version, "6.1.") {
		t.Errorf("kernel = %+v", k)
	}
	uts, err := os.ReadFile(filepath.Join(k.BuildDir, "include/generated/utsrelease.h"))
	if want := `#define UTS_RELEASE "` + k.Release + `"`; err != nil || strings.TrimSpace(string(uts)) != want {
		t.Errorf("prepared utsrelease.h = %q, %v; want %s", uts, err, want)
	}
}

func TestPrepareVmlinuxSymbols(t *testing.T) {
	k := targettest.Kernel(t)
	f, err := elf.Open(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range syms {
		if s.Name == "cmdline_proc_show" {
			found = true
		}
	}
	if len(syms) < 10000 || !found {
		t.Errorf("vmlinux has %d symbols, cmdline_proc_show found: %v", len(syms), found)
	}
}

const helloModule = `#include <linux/module.h>
static int __init hello_init(void) { return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
`

func TestHeadersBuildModule(t *testing.T) {
	k := targettest.Kernel(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.c"), []byte(helloModule), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte("obj-m := hello.o\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-C", k.HeadersDir, "M="+dir, "modules").CombinedOutput()
	if err != nil {
		t.Fatalf("make modules: %v\n%s", err, out)
	}
	vermagic, err := exec.Command("modinfo", "-F", "vermagic", filepath.Join(dir, "hello.ko")).Output()
	if err != nil {
		t.Fatalf("modinfo: %v", err)
	}
	if want := k.Release + " SMP preempt mod_unload modversions"; strings.TrimSpace(string(vermagic)) != want {
		t.Errorf("vermagic = %q, want %q", strings.TrimSpace(string(vermagic)), want)
	}
}

func TestPrepareUnknownRelease(t *testing.T) {
	if _, err := exec.LookPath("apt-cache"); err != nil {
		t.Skip("apt-cache not installed")
	}
	if _, err := exec.LookPath("gcc-12"); err != nil {
		t.Skip("gcc-12 not installed")
	}
	cache := filepath.Join(t.TempDir(), "cache")
	d := &target.Debian{CacheDir: cache}
	_, err := d.Prepare(context.Background(), "6.1.0-9999-amd64")
	if err == nil || !strings.Contains(err.Error(), "6.1.0-9999-amd64 not found in apt") {
		t.Fatalf("error = %v, want one naming the release", err)
	}
	if _, statErr := os.Stat(cache); !os.IsNotExist(statErr) {
		t.Errorf("cache %s was created (stat: %v)", cache, statErr)
	}
	t.Log(err)
}

func TestPrepareInvalidRelease(t *testing.T) {
	d := &target.Debian{CacheDir: t.TempDir()}
	_, err := d.Prepare(context.Background(), "../../etc")
	if err == nil || !strings.Contains(err.Error(), "invalid kernel release") {
		t.Errorf("error = %v, want an invalid release error", err)
	}
}
