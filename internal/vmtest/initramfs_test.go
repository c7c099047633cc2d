package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// extract unpacks a gzip-compressed cpio archive with the cpio tool and
// returns the directory and cpio's listing.
func extract(t *testing.T, archive []byte) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (Debian package cpio)")
	}
	reader, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(reader)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cmd := exec.Command("cpio", "-idv", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(raw)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -idv: %v\n%s", err, output)
	}
	return dir, string(output)
}

func TestInitramfsExtractsWithCPIO(t *testing.T) {
	host := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(host, []byte("from the host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := NewInitramfs()
	tree.AddBytes("/init", []byte("#!/bin/sh\necho hi\n"), 0o755)
	tree.AddBytes("/etc/odd", []byte("abc"), 0o644) // length not a multiple of 4
	tree.AddFile("/usr/share/deep/copy", host, 0o640)
	tree.AddSymlink("/bin/sh", "busybox")
	tree.AddDir("/proc")
	tree.AddBytes("/empty", nil, 0o600)

	var archive bytes.Buffer
	if err := tree.Write(&archive); err != nil {
		t.Fatal(err)
	}
	dir, listing := extract(t, archive.Bytes())

	wantFiles := map[string]string{
		"init":                "#!/bin/sh\necho hi\n",
		"etc/odd":             "abc",
		"usr/share/deep/copy": "from the host\n",
		"empty":               "",
	}
	for name, want := range wantFiles {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	wantModes := map[string]os.FileMode{"init": 0o755, "etc/odd": 0o644, "usr/share/deep/copy": 0o640, "empty": 0o600}
	for name, want := range wantModes {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("stat %s: %v", name, err)
			continue
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", name, info.Mode().Perm(), want)
		}
	}

	target, err := os.Readlink(filepath.Join(dir, "bin/sh"))
	if err != nil || target != "busybox" {
		t.Errorf("bin/sh link = %q, %v; want busybox", target, err)
	}
	info, err := os.Stat(filepath.Join(dir, "proc"))
	if err != nil || !info.IsDir() {
		t.Errorf("proc is not a directory: %v", err)
	}
	if !strings.Contains(listing, "usr/share/deep\n") {
		t.Errorf("listing lacks the implied parent usr/share/deep:\n%s", listing)
	}
}

func TestInitramfsParentsBeforeChildren(t *testing.T) {
	tree := NewInitramfs()
	tree.AddBytes("/a/b/c", nil, 0o644)
	tree.AddBytes("/a-b", nil, 0o644)
	tree.AddBytes("/a/b/c", []byte("second"), 0o644) // replaces the first

	names := tree.names()
	want := []string{"a", "a-b", "a/b", "a/b/c"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("names = %q, want %q", names, want)
	}
	if string(tree.entries["a/b/c"].data) != "second" {
		t.Errorf("a/b/c = %q, want the second contents", tree.entries["a/b/c"].data)
	}
}

func TestCPIOHeaderLayout(t *testing.T) {
	var buf bytes.Buffer
	archive := newCPIOWriter(&buf)
	if err := archive.writeEntry("ab", modeRegular|0o644, []byte("xyz")); err != nil {
		t.Fatal(err)
	}
	if err := archive.close(); err != nil {
		t.Fatal(err)
	}

	data := buf.String()
	if !strings.HasPrefix(data, cpioMagic) {
		t.Fatalf("archive starts with %q, want %q", data[:6], cpioMagic)
	}
	// 110-byte header, "ab\0" padded to 4 bytes from the start, then data.
	if got := data[110:113]; got != "ab\x00" {
		t.Errorf("name = %q, want \"ab\\x00\"", got)
	}
	if got := data[116:119]; got != "xyz" {
		t.Errorf("data at offset 116 = %q, want xyz", got)
	}
	if len(data)%cpioAlign != 0 {
		t.Errorf("archive length %d is not a multiple of %d", len(data), cpioAlign)
	}
	if !strings.Contains(data, cpioTrailer+"\x00") {
		t.Error("archive lacks the trailer")
	}
}

func TestFindQEMUMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	_, err := findQEMU()
	if err == nil || !strings.Contains(err.Error(), "install the Debian package qemu-system-x86") {
		t.Errorf("findQEMU error = %v, want the package to install", err)
	}
}

func TestFindBusyboxDynamic(t *testing.T) {
	_, err := findBusybox("/bin/ls")
	if err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("findBusybox(/bin/ls) error = %v, want the busybox-static package", err)
	}
}

func TestFindBusyboxMissing(t *testing.T) {
	_, err := findBusybox(filepath.Join(t.TempDir(), "busybox"))
	if err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("findBusybox of a missing file: error = %v, want the busybox-static package", err)
	}
}

func TestCheckStaticKeepup(t *testing.T) {
	if err := checkStaticKeepup("/bin/ls"); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("checkStaticKeepup(/bin/ls) = %v, want the static build advice", err)
	}
	if err := checkStaticKeepup(""); err == nil {
		t.Error("checkStaticKeepup(\"\") = nil, want an error")
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skipf("no static binary to check: %v", err)
	}
	if err := checkStaticKeepup(busyboxPath); err != nil {
		t.Errorf("checkStaticKeepup(/bin/busybox) = %v, want nil for a static binary", err)
	}
}

func TestResolveAccelInvalid(t *testing.T) {
	_, err := resolveAccel(context.Background(), "hvf", "qemu", "image", "busybox", func(string, ...any) {})
	if err == nil || !strings.Contains(err.Error(), `invalid accelerator "hvf"`) {
		t.Errorf("resolveAccel(hvf) error = %v, want invalid accelerator", err)
	}
}
