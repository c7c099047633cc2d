package livepatch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeKernel replaces the system calls. Its hooks edit the fake sysfs the
// way the kernel would.
type fakeKernel struct {
	uid      int
	running  string
	onLoad   func(file *os.File) error
	onUnload func(name string) error

	mu       sync.Mutex
	unloaded []string
}

func (k *fakeKernel) euid() int                { return k.uid }
func (k *fakeKernel) release() (string, error) { return k.running, nil }

func (k *fakeKernel) loadModule(file *os.File) error {
	if k.onLoad == nil {
		return nil
	}
	return k.onLoad(file)
}

func (k *fakeKernel) unloadModule(name string) error {
	k.mu.Lock()
	k.unloaded = append(k.unloaded, name)
	k.mu.Unlock()
	if k.onUnload == nil {
		return nil
	}
	return k.onUnload(name)
}

// newFakeSystem returns a system on a temporary sysfs and procfs, with
// the livepatch directory present.
func newFakeSystem(t *testing.T) (*system, *fakeKernel) {
	t.Helper()
	root := t.TempDir()
	kernel := &fakeKernel{running: "6.1.0-57-amd64"}
	s := &system{
		sysfs:          filepath.Join(root, "sys"),
		procfs:         filepath.Join(root, "proc"),
		kernel:         kernel,
		pollInterval:   5 * time.Millisecond,
		reportInterval: 20 * time.Millisecond,
	}
	mkdir(t, filepath.Join(s.sysfs, sysfsLivepatchDir))
	mkdir(t, s.procfs)
	return s, kernel
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// writeFile replaces path by a rename, as sysfs readers never see a file
// half-written, so concurrent reads in the code under test see the old or
// the new content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := replaceFile(path, content); err != nil {
		t.Fatal(err)
	}
}

func replaceFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func boolText(b bool) string {
	if b {
		return "1\n"
	}
	return "0\n"
}

// writePatch lays out a patch directory with one vmlinux object that
// replaces cmdline_proc_show.
func writePatch(t *testing.T, s *system, name string, enabled, transition bool) {
	t.Helper()
	dir := s.patchDir(name)
	writeFile(t, filepath.Join(dir, attrEnabled), boolText(enabled))
	writeFile(t, filepath.Join(dir, attrTransition), boolText(transition))
	writeFile(t, filepath.Join(dir, "force"), "")
	writeFile(t, filepath.Join(dir, "vmlinux", attrPatched), "1\n")
	mkdir(t, filepath.Join(dir, "vmlinux", "cmdline_proc_show,1"))
}

// writeTask lays out /proc/PID/task/TID with a patch state.
func writeTask(t *testing.T, s *system, pid, tid, state int, comm, stack string) {
	t.Helper()
	dir := filepath.Join(s.procfs, strconv.Itoa(pid), "task", strconv.Itoa(tid))
	writeFile(t, filepath.Join(dir, procPatchState), strconv.Itoa(state)+"\n")
	writeFile(t, filepath.Join(dir, "comm"), comm+"\n")
	if stack != "" {
		writeFile(t, filepath.Join(dir, "stack"), stack)
	}
}

// progressLog collects progress lines from several goroutines.
type progressLog struct {
	mu    sync.Mutex
	lines []string
}

func (p *progressLog) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
}

func (p *progressLog) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// finishWhen sets the patch's transition to 0 once ready returns true, or
// after five seconds.
func finishWhen(t *testing.T, s *system, name string, ready func() bool) {
	go func() {
		for deadline := time.Now().Add(5 * time.Second); !ready() && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		path := filepath.Join(s.patchDir(name), attrTransition)
		if err := replaceFile(path, "0\n"); err != nil {
			t.Error(err)
		}
	}()
}

func TestApplyWaitsForTransition(t *testing.T) {
	s, kernel := newFakeSystem(t)
	var progress progressLog
	kernel.onLoad = func(*os.File) error {
		writePatch(t, s, "klp_cmdline", true, true)
		writeTask(t, s, 1, 1, patchStatePatched, "init", "")
		writeTask(t, s, 40, 41, patchStateUnpatched, "worker", "")
		finishWhen(t, s, "klp_cmdline", func() bool { return strings.Contains(progress.text(), "tasks not yet patched") })
		return nil
	}

	patch, err := s.apply(context.Background(), fixtureModule, Options{Timeout: 5 * time.Second, Progress: progress.add})
	if err != nil {
		t.Fatal(err)
	}
	if patch.Name != "klp_cmdline" || !patch.Enabled || patch.Transition {
		t.Errorf("patch = %+v, want klp_cmdline enabled and not in transition", patch)
	}
	if !strings.Contains(progress.text(), "1 tasks not yet patched") {
		t.Errorf("progress lacks the pending task count:\n%s", progress.text())
	}
	if !strings.Contains(progress.text(), "done: patch klp_cmdline applied in") {
		t.Errorf("progress lacks the done line:\n%s", progress.text())
	}
}

func TestApplyTimeoutNamesBlockingTasks(t *testing.T) {
	s, kernel := newFakeSystem(t)
	kernel.onLoad = func(*os.File) error {
		writePatch(t, s, "klp_cmdline", true, true)
		writeTask(t, s, 1, 1, patchStatePatched, "init", "")
		writeTask(t, s, 40, 41, patchStateUnpatched, "stuck-worker", "[<0>] cmdline_proc_show+0x10/0x30\n[<0>] seq_read+0x1/0x2\n")
		writeTask(t, s, 50, 50, patchStateUndefined, "new-task", "")
		return nil
	}

	_, err := s.apply(context.Background(), fixtureModule, Options{Timeout: 100 * time.Millisecond})
	var transitionErr *TransitionError
	if !errors.As(err, &transitionErr) {
		t.Fatalf("apply error = %v, want a TransitionError", err)
	}
	if len(transitionErr.Pending) != 1 {
		t.Fatalf("Pending = %+v, want the one unpatched task", transitionErr.Pending)
	}
	task := transitionErr.Pending[0]
	if task.PID != 40 || task.TID != 41 || task.Comm != "stuck-worker" {
		t.Errorf("pending task = %+v, want pid 40 tid 41 stuck-worker", task)
	}
	message := err.Error()
	for _, want := range []string{"timed out", "pid 40 tid 41 (stuck-worker)", "cmdline_proc_show+0x10/0x30", "keepup revert klp_cmdline"} {
		if !strings.Contains(message, want) {
			t.Errorf("error lacks %q:\n%s", want, message)
		}
	}
}

func TestApplyNotRoot(t *testing.T) {
	s, kernel := newFakeSystem(t)
	kernel.uid = 1000

	_, err := s.apply(context.Background(), fixtureModule, Options{})
	if !errors.Is(err, ErrNotRoot) {
		t.Fatalf("apply error = %v, want ErrNotRoot", err)
	}
}

func TestApplyWithoutLivepatchSupport(t *testing.T) {
	s, _ := newFakeSystem(t)
	if err := os.RemoveAll(filepath.Join(s.sysfs, sysfsLivepatchDir)); err != nil {
		t.Fatal(err)
	}

	_, err := s.apply(context.Background(), fixtureModule, Options{})
	if !errors.Is(err, ErrNoLivepatch) {
		t.Fatalf("apply error = %v, want ErrNoLivepatch", err)
	}
	if !strings.Contains(err.Error(), "CONFIG_LIVEPATCH") {
		t.Errorf("error does not name CONFIG_LIVEPATCH: %v", err)
	}
}

func TestApplyWrongReleaseBeforeLoading(t *testing.T) {
	s, kernel := newFakeSystem(t)
	kernel.running = "6.1.0-99-amd64"
	kernel.onLoad = func(*os.File) error {
		t.Error("module loaded despite the release mismatch")
		return nil
	}

	_, err := s.apply(context.Background(), fixtureModule, Options{})
	var releaseErr *ReleaseError
	if !errors.As(err, &releaseErr) {
		t.Fatalf("apply error = %v, want a ReleaseError", err)
	}
	for _, want := range []string{"6.1.0-57-amd64", "6.1.0-99-amd64", "build the patch for 6.1.0-99-amd64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestApplyRejectsPlainModule(t *testing.T) {
	s, _ := newFakeSystem(t)
	data, err := os.ReadFile(fixtureModule)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "plain.ko")
	if err := os.WriteFile(plain, []byte(strings.Replace(string(data), "livepatch=Y", "livepatch=N", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = s.apply(context.Background(), plain, Options{})
	if !errors.Is(err, ErrNotLivepatch) {
		t.Fatalf("apply error = %v, want ErrNotLivepatch", err)
	}
}

func TestApplyAlreadyLoaded(t *testing.T) {
	s, _ := newFakeSystem(t)
	writePatch(t, s, "klp_cmdline", true, false)

	_, err := s.apply(context.Background(), fixtureModule, Options{})
	if !errors.Is(err, ErrAlreadyLoaded) {
		t.Fatalf("apply error = %v, want ErrAlreadyLoaded", err)
	}
}

func TestApplyMapsLoadErrors(t *testing.T) {
	tests := []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.EEXIST, "already loaded"},
		{syscall.ENOEXEC, "invalid module"},
		{syscall.EINVAL, "invalid module or patch"},
		{syscall.EPERM, "does not permit loading modules"},
		{syscall.EKEYREJECTED, "signature"},
		{syscall.ENOKEY, "unsigned"},
		{syscall.EBUSY, "another live patch transition"},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			s, kernel := newFakeSystem(t)
			kernel.onLoad = func(*os.File) error { return tt.errno }

			_, err := s.apply(context.Background(), fixtureModule, Options{})
			if !errors.Is(err, tt.errno) {
				t.Errorf("apply error = %v, want it to wrap %v", err, tt.errno)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("apply error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestApplyPatchRemovedDuringTransition(t *testing.T) {
	s, kernel := newFakeSystem(t)
	kernel.onLoad = func(*os.File) error { return nil } // no sysfs directory appears

	_, err := s.apply(context.Background(), fixtureModule, Options{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "removed during its transition") {
		t.Fatalf("apply error = %v, want the removed-patch error", err)
	}
}

func TestApplyCanceled(t *testing.T) {
	s, kernel := newFakeSystem(t)
	kernel.onLoad = func(*os.File) error {
		writePatch(t, s, "klp_cmdline", true, true)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := s.apply(ctx, fixtureModule, Options{Timeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("apply error = %v, want context.DeadlineExceeded", err)
	}
}

func TestListPatches(t *testing.T) {
	s, _ := newFakeSystem(t)
	writePatch(t, s, "b_fix", false, true)
	writePatch(t, s, "a_fix", true, false)
	writeFile(t, filepath.Join(s.patchDir("a_fix"), "xfs", attrPatched), "0\n")
	mkdir(t, filepath.Join(s.patchDir("a_fix"), "xfs", "xfs_inode_free,0"))

	patches, err := s.listPatches()
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != 2 {
		t.Fatalf("got %d patches, want 2: %+v", len(patches), patches)
	}
	a, b := patches[0], patches[1]
	if a.Name != "a_fix" || !a.Enabled || a.Transition {
		t.Errorf("first patch = %+v, want a_fix enabled, not in transition", a)
	}
	if b.Name != "b_fix" || b.Enabled || !b.Transition {
		t.Errorf("second patch = %+v, want b_fix disabled, in transition", b)
	}
	if len(a.Objects) != 2 {
		t.Fatalf("a_fix objects = %+v, want vmlinux and xfs", a.Objects)
	}
	vmlinux, xfs := a.Objects[0], a.Objects[1]
	if vmlinux.Name != "vmlinux" || !vmlinux.Patched || len(vmlinux.Functions) != 1 {
		t.Errorf("vmlinux object = %+v", vmlinux)
	}
	if got := vmlinux.Functions[0]; got != (Function{Name: "cmdline_proc_show", Sympos: 1}) {
		t.Errorf("vmlinux function = %+v, want cmdline_proc_show,1", got)
	}
	if xfs.Name != "xfs" || xfs.Patched {
		t.Errorf("xfs object = %+v, want xfs not patched", xfs)
	}
}

func TestListEmpty(t *testing.T) {
	s, _ := newFakeSystem(t)

	patches, err := s.listPatches()
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != 0 {
		t.Errorf("patches = %+v, want none", patches)
	}
}

func TestListInvalidAttribute(t *testing.T) {
	s, _ := newFakeSystem(t)
	writePatch(t, s, "fix", true, false)
	writeFile(t, filepath.Join(s.patchDir("fix"), attrEnabled), "2\n")

	if _, err := s.listPatches(); err == nil {
		t.Fatal("listPatches with enabled=2: got no error")
	}
}

// disableOnWrite removes the patch's directory once its enabled file reads
// 0, as the kernel does after a finished revert transition.
func disableOnWrite(t *testing.T, s *system, name string) {
	enabled := filepath.Join(s.patchDir(name), attrEnabled)
	go func() {
		for range 1000 {
			data, err := os.ReadFile(enabled)
			if err == nil && strings.TrimSpace(string(data)) == "0" {
				time.Sleep(30 * time.Millisecond)
				if err := os.RemoveAll(s.patchDir(name)); err != nil {
					t.Error(err)
				}
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
}

func TestRevertDisablesWaitsAndUnloads(t *testing.T) {
	s, kernel := newFakeSystem(t)
	writePatch(t, s, "klp_cmdline", true, false)
	disableOnWrite(t, s, "klp_cmdline")
	busy := 2
	kernel.onUnload = func(string) error {
		if busy > 0 {
			busy--
			return syscall.EAGAIN
		}
		return nil
	}
	var progress progressLog

	err := s.revert(context.Background(), "klp_cmdline", Options{Timeout: 5 * time.Second, Progress: progress.add})
	if err != nil {
		t.Fatal(err)
	}
	if len(kernel.unloaded) != 3 {
		t.Errorf("delete_module calls = %q, want 3 (two busy, one done)", kernel.unloaded)
	}
	if !strings.Contains(progress.text(), "done: patch klp_cmdline reverted in") {
		t.Errorf("progress lacks the done line:\n%s", progress.text())
	}
}

func TestRevertUnknownNameListsLoaded(t *testing.T) {
	s, kernel := newFakeSystem(t)
	writePatch(t, s, "fix_one", true, false)
	writePatch(t, s, "fix_two", true, false)

	err := s.revert(context.Background(), "nope", Options{})
	if !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("revert error = %v, want ErrNotLoaded", err)
	}
	if !strings.Contains(err.Error(), "loaded patches: fix_one, fix_two") {
		t.Errorf("error does not list the loaded patches: %v", err)
	}
	if len(kernel.unloaded) != 0 {
		t.Errorf("delete_module called for %q", kernel.unloaded)
	}
}

func TestRevertUnknownNameNoneLoaded(t *testing.T) {
	s, _ := newFakeSystem(t)

	err := s.revert(context.Background(), "nope", Options{})
	if !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("revert error = %v, want ErrNotLoaded", err)
	}
	if !strings.Contains(err.Error(), "no live patches are loaded") {
		t.Errorf("error does not say that none are loaded: %v", err)
	}
}

func TestRevertIgnoresOrdinaryModule(t *testing.T) {
	s, kernel := newFakeSystem(t)
	writeFile(t, filepath.Join(s.sysfs, sysfsModuleDir, "ext4", attrTaint), "\n")

	err := s.revert(context.Background(), "ext4", Options{})
	if !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("revert error = %v, want ErrNotLoaded", err)
	}
	if len(kernel.unloaded) != 0 {
		t.Errorf("delete_module called for %q", kernel.unloaded)
	}
}

func TestRevertUnloadsDisabledPatchModule(t *testing.T) {
	s, kernel := newFakeSystem(t)
	writeFile(t, filepath.Join(s.sysfs, sysfsModuleDir, "old_fix", attrTaint), "OEK\n")

	if err := s.revert(context.Background(), "old_fix", Options{}); err != nil {
		t.Fatal(err)
	}
	if len(kernel.unloaded) != 1 || kernel.unloaded[0] != "old_fix" {
		t.Errorf("delete_module calls = %q, want [old_fix]", kernel.unloaded)
	}
}

func TestRevertTimeoutNamesPatchedTasks(t *testing.T) {
	s, kernel := newFakeSystem(t)
	writePatch(t, s, "klp_cmdline", true, true) // the fake kernel never ends the transition
	writeTask(t, s, 7, 7, patchStatePatched, "sleeper", "[<0>] do_nanosleep+0x1/0x2\n")
	writeTask(t, s, 8, 8, patchStateUnpatched, "done-task", "")

	err := s.revert(context.Background(), "klp_cmdline", Options{Timeout: 100 * time.Millisecond})
	var transitionErr *TransitionError
	if !errors.As(err, &transitionErr) {
		t.Fatalf("revert error = %v, want a TransitionError", err)
	}
	if len(transitionErr.Pending) != 1 || transitionErr.Pending[0].Comm != "sleeper" {
		t.Errorf("Pending = %+v, want the sleeper task", transitionErr.Pending)
	}
	if !strings.Contains(err.Error(), "still patched") {
		t.Errorf("error does not say the tasks are still patched: %v", err)
	}
	if len(kernel.unloaded) != 0 {
		t.Errorf("delete_module called for %q before the transition finished", kernel.unloaded)
	}
	data, _ := os.ReadFile(filepath.Join(s.patchDir("klp_cmdline"), attrEnabled))
	if strings.TrimSpace(string(data)) != "0" {
		t.Errorf("enabled = %q, want 0 written", data)
	}
}

func TestRevertAcceptsDashedName(t *testing.T) {
	s, _ := newFakeSystem(t)
	writePatch(t, s, "livepatch_fix", true, false)
	disableOnWrite(t, s, "livepatch_fix")

	err := s.revert(context.Background(), "livepatch-fix", Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("revert livepatch-fix: %v", err)
	}
}

func TestReadOfRemovedPatchIsNotExist(t *testing.T) {
	read := &fs.PathError{Op: "read", Path: "/sys/kernel/livepatch/p/enabled", Err: syscall.ENODEV}
	err := removedWhileRead(read)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not wrap fs.ErrNotExist", err)
	}
	if !errors.Is(err, syscall.ENODEV) {
		t.Errorf("%v lost ENODEV", err)
	}
	other := &fs.PathError{Op: "read", Path: "/sys/kernel/livepatch/p/enabled", Err: syscall.EIO}
	if errors.Is(removedWhileRead(other), fs.ErrNotExist) {
		t.Errorf("EIO taken for a removed patch")
	}
}
