package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keepup/keepup/internal/livepatch"
	"github.com/keepup/keepup/internal/target/targettest"
)

// The examples are built and proved through the real keepup binary, so
// the exit statuses and files a user sees are what the tests check.

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// keepupBinary builds a statically linked keepup once per test run, so it
// also runs inside the guest.
func keepupBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keepup-test-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "keepup")
		cmd := exec.Command("go", "build", "-o", binaryPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = errors.New(string(out))
		}
	})
	if binaryErr != nil {
		t.Fatalf("build keepup: %v", binaryErr)
	}
	return binaryPath
}

// runKeepup runs the binary in dir and returns stdout, stderr and the exit
// status.
func runKeepup(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(keepupBinary(t), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("run keepup %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), 0
}

func examplePath(t *testing.T, name, file string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "examples", name, file))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// cacheArgs passes the test cache directory on, when one is set.
func cacheArgs() []string {
	if dir := os.Getenv(targettest.CacheDirEnv); dir != "" {
		return []string{"--cache-dir", dir}
	}
	return nil
}

func buildExample(t *testing.T, name string) (dir, stdout, stderr string, status int) {
	t.Helper()
	k := targettest.Kernel(t)
	dir = t.TempDir()
	args := append([]string{"build", "--kernel", k.Release}, cacheArgs()...)
	args = append(args, examplePath(t, name, name+".patch"))
	stdout, stderr, status = runKeepup(t, dir, args...)
	return dir, stdout, stderr, status
}

// liveExamples are the patches that must load, change the behaviour their
// check script tests, and revert cleanly. want lists report lines, and
// klpSymbols the livepatch symbols the module must carry.
var liveExamples = []struct {
	name       string
	want       []string
	klpSymbols []string
}{
	{"cmdline", []string{"fs/proc/cmdline.o: changed: cmdline_proc_show"},
		[]string{".klp.sym.vmlinux.saved_command_line,0"}},
	{"meminfo", []string{"fs/proc/meminfo.o: changed: meminfo_proc_show", "fs/proc/meminfo.o: new: keepup_used_pages"}, nil},
	{"uname", []string{"kernel/sys.o: changed: __x64_sys_newuname", "kernel/sys.o: changed: __ia32_sys_newuname"}, nil},
	{"filesystems", []string{"fs/filesystems.o: changed: filesystems_proc_show"},
		[]string{".klp.sym.vmlinux.__get_fs_type,0", ".klp.sym.vmlinux.file_systems,0", ".klp.sym.vmlinux.file_systems_lock,0"}},
}

func TestExamplesLive(t *testing.T) {
	for _, ex := range liveExamples {
		t.Run(ex.name, func(t *testing.T) {
			dir, stdout, stderr, status := buildExample(t, ex.name)
			if status != 0 {
				t.Fatalf("keepup build exited %d\n%s%s", status, stdout, stderr)
			}
			for _, line := range ex.want {
				if !strings.Contains(stdout, line+"\n") {
					t.Errorf("report lacks %q:\n%s", line, stdout)
				}
			}
			module := filepath.Join(dir, "livepatch-"+ex.name+".ko")
			checkModinfo(t, module)
			checkKlpSymbols(t, module, ex.klpSymbols)
			args := append([]string{"vmtest", "--kernel", targettest.Kernel(t).Release, "--accel", "tcg"}, cacheArgs()...)
			args = append(args, module, "--check", examplePath(t, ex.name, "check.sh"))
			stdout, stderr, status = runKeepup(t, dir, args...)
			if status != 0 {
				t.Fatalf("keepup vmtest exited %d\n%s%s", status, stdout, stderr)
			}
			if !strings.Contains(stdout, "result: PASS") || !strings.Contains(stdout, "kernel log: clean") {
				t.Errorf("vmtest output lacks a clean pass:\n%s", stdout)
			}
		})
	}
}

// checkModinfo checks the module's metadata as the kernel will read it,
// with the parser keepup apply uses and with modinfo.
func checkModinfo(t *testing.T, module string) {
	t.Helper()
	info, err := livepatch.ReadModinfo(module)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Livepatch {
		t.Error("modinfo lacks livepatch=Y")
	}
	release := targettest.Kernel(t).Release
	if info.Release() != release || !strings.Contains(info.Vermagic, "modversions") {
		t.Errorf("vermagic %q, want %s with modversions", info.Vermagic, release)
	}

	f, err := elf.Open(module)
	if err != nil {
		t.Fatalf("read module: %v", err)
	}
	defer f.Close()
	if f.Section("__versions") == nil {
		t.Error("module has no __versions section of modversions CRCs")
	}
	if out, err := exec.Command("modinfo", module).CombinedOutput(); err != nil {
		t.Errorf("modinfo: %v\n%s", err, out)
	}
}

// checkKlpSymbols checks that the module reaches each named symbol of the
// running kernel through a livepatch relocation.
func checkKlpSymbols(t *testing.T, module string, want []string) {
	t.Helper()
	f, err := elf.Open(module)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]elf.SectionIndex{}
	for _, y := range syms {
		found[y.Name] = y.Section
	}
	for _, name := range want {
		shndx, ok := found[name]
		if !ok {
			t.Errorf("module lacks livepatch symbol %s", name)
			continue
		}
		if shndx != 0xff20 {
			t.Errorf("symbol %s has section index %#x, want SHN_LIVEPATCH (0xff20)", name, shndx)
		}
	}
	if len(want) == 0 {
		return
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".klp.rela.vmlinux.") && s.Flags&0x00100000 != 0 {
			return
		}
	}
	t.Error("module has no .klp.rela.vmlinux section flagged SHF_RELA_LIVEPATCH")
}

func TestExampleCommentOnly(t *testing.T) {
	dir, stdout, stderr, status := buildExample(t, "comment-only")
	if status != exitNoChange {
		t.Fatalf("keepup build exited %d, want %d\n%s%s", status, exitNoChange, stdout, stderr)
	}
	if !strings.Contains(stderr, "no functional change") {
		t.Errorf("stderr lacks the reason:\n%s", stderr)
	}
	assertEmptyDir(t, dir)
}

func TestExampleInitChange(t *testing.T) {
	dir, stdout, stderr, status := buildExample(t, "init-change")
	if status != exitRejected {
		t.Fatalf("keepup build exited %d, want %d\n%s%s", status, exitRejected, stdout, stderr)
	}
	if !strings.Contains(stdout, "rejected: proc_cmdline_init: change to __init code") {
		t.Errorf("report lacks the rejection:\n%s", stdout)
	}
	assertEmptyDir(t, dir)
}

// assertEmptyDir checks that a failed build left nothing in the current
// directory.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("failed build left %s in the current directory", e.Name())
	}
}
