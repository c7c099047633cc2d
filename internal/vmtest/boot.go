// Package vmtest boots a target kernel under QEMU with a generated
// initramfs and runs shell steps in the guest, to prove live patches on
// the exact kernel they were built for.
package vmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults for BootConfig.
const (
	DefaultBootTimeout = 2 * time.Minute
	DefaultMemoryMiB   = 512
)

// BootConfig describes one boot of a kernel that runs a script.
type BootConfig struct {
	Image     string        // kernel image to boot, such as /boot/vmlinuz-6.1.0-57-amd64
	Files     []File        // files for the initramfs besides busybox and /init
	Script    string        // guest shell commands; "step NAME COMMAND [ARG...]" records a Step
	Timeout   time.Duration // limit for the whole boot, from starting QEMU to power-off; zero means DefaultBootTimeout
	Accel     string        // AccelAuto, AccelTCG or AccelKVM; "" means AccelAuto
	Loader    string        // LoaderImage or LoaderPVH; "" means LoaderImage
	MemoryMiB int           // guest memory; zero means DefaultMemoryMiB
	Append    string        // extra kernel command line parameters
	Progress  func(line string)
}

// File is a file to put into the guest's initramfs.
type File struct {
	Guest string // absolute path in the guest
	Host  string // file to copy; when empty, Data is the contents
	Data  []byte
	Mode  fs.FileMode // permission bits; zero means 0644
}

// Step is one command that the guest ran with the step function.
type Step struct {
	Name     string
	Finished bool   // the end marker arrived; false when the guest stopped during the step
	Status   int    // exit status; -1 when not finished
	Output   string // standard output and standard error, interleaved
}

// BootResult contains the steps and logs of one boot.
type BootResult struct {
	Steps       []Step
	Completed   bool     // the guest ran /init to its end
	Console     string   // kernel console from the first serial port
	Guest       string   // the second serial port: markers, step output and stray output of the script
	KernelLog   string   // dmesg at the end, or the console when the guest stopped before that
	Problems    []string // kernel log lines that report a kernel error, such as an oops or a warning
	BootIDStart string
	BootIDEnd   string
	UptimeStart string // /proc/uptime when the script started
	UptimeEnd   string // /proc/uptime when the script ended
	Accel       string // accelerator QEMU used
	Elapsed     time.Duration
}

// Step returns the first step named name.
func (r *BootResult) Step(name string) (Step, bool) {
	for _, step := range r.Steps {
		if step.Name == name {
			return step, true
		}
	}
	return Step{}, false
}

// Boot builds an initramfs with busybox, cfg.Files and an /init that runs
// cfg.Script, boots cfg.Image with it under QEMU and returns the guest's
// steps and logs. The error is non-nil when the guest could not run the
// script to its end. A non-nil result comes with the logs even then.
// Step exit statuses and kernel log problems are left to the caller.
func Boot(ctx context.Context, cfg BootConfig) (*BootResult, error) {
	cfg = cfg.withDefaults()
	qemu, err := findQEMU()
	if err != nil {
		return nil, err
	}
	busybox, err := findBusybox(busyboxPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Image); err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	if cfg.Loader != LoaderImage && cfg.Loader != LoaderPVH {
		return nil, fmt.Errorf("invalid loader %q: expected %s or %s", cfg.Loader, LoaderImage, LoaderPVH)
	}

	accel, err := resolveAccel(ctx, cfg.Accel, qemu, cfg.Image, busybox, cfg.progress)
	if err != nil {
		return nil, err
	}
	return boot(ctx, cfg, qemu, busybox, accel)
}

func boot(ctx context.Context, cfg BootConfig, qemu, busybox, accel string) (*BootResult, error) {
	dir, err := os.MkdirTemp("", "keepup-vmtest-")
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	defer os.RemoveAll(dir)

	nonce := newNonce()
	initrd := filepath.Join(dir, "initramfs.cpio.gz")
	if err := writeGuestInitramfs(initrd, busybox, nonce, cfg); err != nil {
		return nil, err
	}
	kernel, err := kernelToBoot(cfg, dir)
	if err != nil {
		return nil, err
	}

	cfg.progress("booting %s with %s (%s loader)", cfg.Image, accel, cfg.Loader)
	run := qemuRun{
		binary: qemu, image: kernel, initrd: initrd, accel: accel,
		memoryMiB: cfg.MemoryMiB, append: cfg.Append, timeout: cfg.Timeout,
		onLine: stepReporter(nonce, cfg.progress),
	}
	out, runErr := run.run(ctx)
	if out == nil {
		return nil, runErr
	}

	result := parseBoot(out, nonce)
	result.Accel = accel
	if runErr != nil {
		return result, runErr
	}
	if !result.Completed {
		return result, incompleteError(result)
	}
	return result, nil
}

func (cfg BootConfig) withDefaults() BootConfig {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultBootTimeout
	}
	if cfg.Accel == "" {
		cfg.Accel = AccelAuto
	}
	if cfg.Loader == "" {
		cfg.Loader = LoaderImage
	}
	if cfg.MemoryMiB <= 0 {
		cfg.MemoryMiB = DefaultMemoryMiB
	}
	return cfg
}

func (cfg BootConfig) progress(format string, args ...any) {
	if cfg.Progress != nil {
		cfg.Progress(fmt.Sprintf(format, args...))
	}
}

// kernelToBoot returns the file for QEMU's -kernel option: the image
// itself, or for LoaderPVH the vmlinux extracted from it into dir.
func kernelToBoot(cfg BootConfig, dir string) (string, error) {
	if cfg.Loader != LoaderPVH {
		return cfg.Image, nil
	}
	return extractVmlinux(cfg.Image, dir)
}

// writeGuestInitramfs writes the initramfs: busybox with its applet links,
// the caller's files, the script and /init.
func writeGuestInitramfs(path, busybox, nonce string, cfg BootConfig) error {
	applets, err := busyboxApplets(busybox)
	if err != nil {
		return err
	}

	tree := NewInitramfs()
	tree.AddFile("/bin/busybox", busybox, 0o755)
	for _, applet := range applets {
		if applet != "bin/busybox" {
			tree.AddSymlink(applet, "/bin/busybox")
		}
	}
	for _, dir := range []string{"/proc", "/sys", "/dev", "/tmp"} {
		tree.AddDir(dir)
	}
	for _, file := range cfg.Files {
		addFile(tree, file)
	}
	tree.AddBytes(guestScript, []byte(cfg.Script+"\n"), 0o644)
	tree.AddBytes(guestInit, []byte(initScript(nonce)), 0o755)
	return tree.WriteFile(path)
}

func addFile(tree *Initramfs, file File) {
	mode := file.Mode
	if mode == 0 {
		mode = 0o644
	}
	if file.Host != "" {
		tree.AddFile(file.Guest, file.Host, mode)
		return
	}
	tree.AddBytes(file.Guest, file.Data, mode)
}

// stepReporter returns a channel line callback that reports each finished
// step through progress.
func stepReporter(nonce string, progress func(string, ...any)) func(string) {
	marker := markerPrefix + " " + nonce + " "
	return func(line string) {
		rest, ok := strings.CutPrefix(line, marker)
		if !ok {
			return
		}
		fields := strings.Fields(rest)
		if len(fields) == 3 && fields[0] == "end" {
			progress("guest: step %s exited with status %s", fields[1], fields[2])
		}
	}
}

// incompleteError explains a guest that stopped before the end of /init.
func incompleteError(result *BootResult) error {
	for _, step := range result.Steps {
		if !step.Finished {
			return fmt.Errorf("guest stopped during step %s; the kernel log shows why", step.Name)
		}
	}
	return fmt.Errorf("guest stopped before the end of its script; the kernel log shows why")
}

// newNonce returns a random word for this boot's markers.
func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
