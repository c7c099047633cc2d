package target

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// layout is where the parts of one kernel go inside its cache directory.
type layout struct {
	dir, release string
}

func (l layout) imageRoot() string   { return filepath.Join(l.dir, "image") }
func (l layout) headersRoot() string { return filepath.Join(l.dir, "headers") }
func (l layout) debugRoot() string   { return filepath.Join(l.dir, "debug") }
func (l layout) sourceDir() string   { return filepath.Join(l.dir, "source") }
func (l layout) buildDir() string    { return filepath.Join(l.dir, "build") }
func (l layout) config() string      { return filepath.Join(l.imageRoot(), "boot", "config-"+l.release) }

func (l layout) headersDir() string {
	return filepath.Join(l.headersRoot(), "usr", "src", "linux-headers-"+l.release)
}

func (l layout) kernel(pkgs debianPackages, cc string) *Kernel {
	return &Kernel{
		Release:    l.release,
		Version:    pkgs.Image.Version,
		Arch:       unameMachine(pkgs.Image.Arch),
		Dir:        l.dir,
		SourceDir:  l.sourceDir(),
		BuildDir:   l.buildDir(),
		HeadersDir: l.headersDir(),
		Image:      filepath.Join(l.imageRoot(), "boot", "vmlinuz-"+l.release),
		Config:     l.config(),
		ModulesDir: filepath.Join(l.imageRoot(), "lib", "modules", l.release),
		Vmlinux:    filepath.Join(l.debugRoot(), "usr", "lib", "debug", "boot", "vmlinux-"+l.release),
		Symvers:    filepath.Join(l.headersDir(), "Module.symvers"),
		CC:         cc,
		MakeVars:   makeVars(cc, l.release),
	}
}

// ObjectCFLAGS are the compiler flags added to the kernel's own for every
// object keepup compiles. One section per function and per data object
// lets an object differ compare and pick out single functions.
const ObjectCFLAGS = "-ffunction-sections -fdata-sections"

// makeVars returns the make variables for a kernel built by cc. The source
// tree does not know Debian's release string or compiler, so both are set.
// KCFLAGS is set for the prepare as well, because kbuild rebuilds the
// generated files of modules_prepare when their recorded flags change.
func makeVars(cc, release string) []string {
	return []string{"CC=" + cc, "KERNELRELEASE=" + release, "KCFLAGS=" + ObjectCFLAGS}
}

// unameMachine maps a Debian architecture to the name uname -m prints.
func unameMachine(debArch string) string {
	switch debArch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "i386":
		return "i686"
	}
	return debArch
}

// build unpacks and prepares the kernel in a new directory and publishes
// it. The directory is removed if any step fails.
func (d *Debian) build(ctx context.Context, rel release, pkgs debianPackages, debs map[string]string, kernels string) (*Kernel, error) {
	dir, err := os.MkdirTemp(kernels, "."+rel.Name+".")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(dir)
		}
	}()
	logPath := filepath.Join(kernels, rel.Name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()

	k, err := d.unpackAndPrepare(ctx, layout{dir: dir, release: rel.Name}, pkgs, debs, log)
	if err != nil {
		return nil, fmt.Errorf("prepare %s (log in %s): %w", rel.Name, logPath, err)
	}
	if err := publish(k, kernels, dir); err != nil {
		return nil, err
	}
	published = true
	return k, nil
}

// unpackAndPrepare runs the steps of a prepare. The debug package takes the
// longest to unpack, so it runs beside the others.
func (d *Debian) unpackAndPrepare(ctx context.Context, l layout, pkgs debianPackages, debs map[string]string, log *os.File) (*Kernel, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	debugDone := make(chan error, 1)
	go func() {
		debugDone <- d.timed("unpack vmlinux from "+pkgs.Debug.Name, func() error {
			return unpackVmlinux(ctx, debs[pkgs.Debug.Name], l, log)
		})
	}()

	cc, err := d.unpackAndBuild(ctx, l, pkgs, debs, log)
	if err != nil {
		return nil, err
	}
	if err := <-debugDone; err != nil {
		return nil, err
	}
	return l.kernel(pkgs, cc), nil
}

func (d *Debian) unpackAndBuild(ctx context.Context, l layout, pkgs debianPackages, debs map[string]string, log *os.File) (string, error) {
	err := d.timed("unpack "+pkgs.Image.Name, func() error {
		return unpackImage(ctx, debs[pkgs.Image.Name], l, log)
	})
	if err != nil {
		return "", err
	}
	cfg, err := ReadConfig(l.config())
	if err != nil {
		return "", err
	}
	cc := cfg.CompilerName()
	if err := checkCompiler(l.config()); err != nil {
		return "", err
	}
	err = d.timed("unpack headers", func() error {
		return unpackHeaders(ctx, []string{debs[pkgs.Headers.Name], debs[pkgs.Common.Name], debs[pkgs.Kbuild.Name]}, l, log)
	})
	if err != nil {
		return "", err
	}
	err = d.timed("unpack source from "+pkgs.Source.Name, func() error {
		return unpackSource(ctx, debs[pkgs.Source.Name], l, log)
	})
	if err != nil {
		return "", err
	}
	return cc, d.timed("prepare build tree", func() error {
		return prepareBuildDir(ctx, l, cfg, cc, log)
	})
}

// timed runs step and reports its start and duration through Progress.
func (d *Debian) timed(step string, fn func() error) error {
	d.progress(step)
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	d.progress(fmt.Sprintf("%s: done in %.1fs", step, time.Since(start).Seconds()))
	return nil
}

// unpackImage unpacks the image package and generates modules.dep, which
// Debian's image package does not ship.
func unpackImage(ctx context.Context, deb string, l layout, log io.Writer) error {
	if err := run(ctx, log, "", "dpkg-deb", "-x", deb, l.imageRoot()); err != nil {
		return fmt.Errorf("unpack %s: %w", deb, err)
	}
	if err := run(ctx, log, "", "depmod", "-b", l.imageRoot(), l.release); err != nil {
		return fmt.Errorf("depmod %s: %w", l.imageRoot(), err)
	}
	return nil
}

// unpackHeaders unpacks the headers, common headers and kbuild packages
// into one root and points the headers Makefile at the unpacked common
// headers instead of /usr/src.
func unpackHeaders(ctx context.Context, debs []string, l layout, log io.Writer) error {
	for _, deb := range debs {
		if err := run(ctx, log, "", "dpkg-deb", "-x", deb, l.headersRoot()); err != nil {
			return fmt.Errorf("unpack %s: %w", deb, err)
		}
	}
	return rewriteHeadersMakefile(filepath.Join(l.headersDir(), "Makefile"), l.headersRoot())
}

// rewriteHeadersMakefile rewrites the Makefile's single "include
// /usr/src/..." line so that it includes the same file under root.
func rewriteHeadersMakefile(path, root string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	line := strings.TrimSpace(string(data))
	included, ok := strings.CutPrefix(line, "include /usr/src/")
	if !ok || strings.Contains(line, "\n") {
		return fmt.Errorf("rewrite %s: expected one line \"include /usr/src/...\", found %q", path, line)
	}
	target := filepath.Join(root, "usr", "src", included)
	if _, err := os.Stat(target); err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	return os.WriteFile(path, []byte("include "+target+"\n"), 0o644)
}

// unpackSource extracts the source tarball inside the source package
// straight into the source directory, dropping its top directory.
func unpackSource(ctx context.Context, deb string, l layout, log *os.File) error {
	tarball, err := sourceTarball(ctx, deb)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.sourceDir(), 0o755); err != nil {
		return err
	}
	err = runPipeline(ctx, log,
		[]string{"dpkg-deb", "--fsys-tarfile", deb},
		[]string{"tar", "-xO", tarball},
		[]string{"tar", "-xJ", "--strip-components=1", "-C", l.sourceDir()},
	)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", deb, err)
	}
	return nil
}

// sourceTarball returns the member name of the source tarball in deb,
// such as ./usr/src/linux-source-6.1.tar.xz.
func sourceTarball(ctx context.Context, deb string) (string, error) {
	listing, err := runOutput(ctx, "", "dpkg-deb", "--contents", deb)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", deb, err)
	}
	for _, line := range strings.Split(string(listing), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		name := fields[len(fields)-1]
		if strings.HasPrefix(name, "./usr/src/linux-source-") && strings.HasSuffix(name, ".tar.xz") {
			return name, nil
		}
	}
	return "", fmt.Errorf("list %s: no ./usr/src/linux-source-*.tar.xz inside", deb)
}

// unpackVmlinux extracts only the vmlinux with the full symbol table from
// the debug package, which is mostly debug info for modules.
func unpackVmlinux(ctx context.Context, deb string, l layout, log *os.File) error {
	if err := os.MkdirAll(l.debugRoot(), 0o755); err != nil {
		return err
	}
	member := "./usr/lib/debug/boot/vmlinux-" + l.release
	err := runPipeline(ctx, log,
		[]string{"dpkg-deb", "--fsys-tarfile", deb},
		[]string{"tar", "-x", "-C", l.debugRoot(), member},
	)
	if err != nil {
		return fmt.Errorf("unpack %s from %s: %w", member, deb, err)
	}
	return nil
}

// prepareBuildDir makes the out-of-tree object directory: the target's
// config, olddefconfig, a check that the result matches the target, and
// modules_prepare for the generated headers and tools.
func prepareBuildDir(ctx context.Context, l layout, targetCfg Config, cc string, log io.Writer) error {
	if err := os.MkdirAll(l.buildDir(), 0o755); err != nil {
		return err
	}
	if err := copyFile(l.config(), filepath.Join(l.buildDir(), ".config")); err != nil {
		return err
	}
	makeArgs := append([]string{"-C", l.sourceDir(), "O=" + l.buildDir()}, makeVars(cc, l.release)...)
	if err := run(ctx, log, "", "make", append(makeArgs, "olddefconfig")...); err != nil {
		return fmt.Errorf("make olddefconfig: %w", err)
	}
	prepared, err := ReadConfig(filepath.Join(l.buildDir(), ".config"))
	if err != nil {
		return err
	}
	if diffs := DiffConfigs(targetCfg, prepared); len(diffs) > 0 {
		return configMismatch(diffs)
	}
	jobs := "-j" + strconv.Itoa(runtime.NumCPU())
	if err := run(ctx, log, "", "make", append(makeArgs, jobs, "modules_prepare")...); err != nil {
		return fmt.Errorf("make modules_prepare: %w", err)
	}
	return nil
}

func configMismatch(diffs []ConfigDiff) error {
	lines := make([]string, len(diffs))
	for i, d := range diffs {
		lines[i] = "\t" + d.String()
	}
	return fmt.Errorf("make olddefconfig changed %d options of the target's config, so objects built here would not match the kernel; install the tools the kernel was built with and retry:\n%s",
		len(diffs), strings.Join(lines, "\n"))
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// run runs a command with its output going to log. The error includes the
// last lines of the output.
func run(ctx context.Context, log io.Writer, dir, name string, args ...string) error {
	var tail tailBuffer
	cmd := command(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	fmt.Fprintf(log, "+ %s %s\n", name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, tail.String())
	}
	return nil
}

// runPipeline runs stages connected by pipes, like a shell pipeline, with
// their standard error going to log, and fails if any stage fails.
func runPipeline(ctx context.Context, log *os.File, stages ...[]string) error {
	cmds := make([]*exec.Cmd, len(stages))
	for i, s := range stages {
		cmds[i] = command(ctx, s[0], s[1:]...)
		cmds[i].Stderr = log
		fmt.Fprintf(log, "+ %s\n", strings.Join(s, " "))
	}
	cmds[len(cmds)-1].Stdout = log
	for i := 0; i+1 < len(cmds); i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmds[i].Stdout = w
		cmds[i+1].Stdin = r
		defer r.Close()
		defer w.Close()
	}
	return startAndWait(cmds, stages)
}

func startAndWait(cmds []*exec.Cmd, stages [][]string) error {
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", stages[i][0], err)
		}
		// The parent's copies of the pipe ends must close, or a stage
		// never sees end of file.
		if f, ok := cmd.Stdout.(*os.File); ok && i+1 < len(cmds) {
			f.Close()
		}
		if f, ok := cmd.Stdin.(*os.File); ok {
			f.Close()
		}
	}
	var first error
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", strings.Join(stages[i], " "), err)
		}
	}
	return first
}

// command returns a command that the kernel kills if this process dies
// first, so that a killed prepare leaves no extractor writing into the
// directory the next prepare removes.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct {
	buf bytes.Buffer
}

const tailBytes = 4000

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if t.buf.Len() > 2*tailBytes {
		rest := t.buf.Bytes()[t.buf.Len()-tailBytes:]
		t.buf = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	s := t.buf.String()
	if len(s) > tailBytes {
		s = s[len(s)-tailBytes:]
	}
	return strings.TrimSpace(s)
}
