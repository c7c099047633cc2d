// Package klpmod turns patch objects into a livepatch kernel module: it
// binds each reference to the running kernel, generates the registration
// code, links the module with the target's own kbuild and adds the
// livepatch relocations to the result.
package klpmod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
	"github.com/keepup/keepup/internal/objdiff"
	"github.com/keepup/keepup/internal/symtab"
	"github.com/keepup/keepup/internal/target"
)

// Object is the diff of one source file.
type Object struct {
	Source string          // path in the kernel tree, such as "fs/proc/cmdline.c"
	Orig   *elfobj.File    // the original build, whose local symbols locate the file in vmlinux
	Result *objdiff.Result // a result with verdict Changed
}

// Options configure Build.
type Options struct {
	Name     string // module name, such as "livepatch-fix"
	Kernel   *target.Kernel
	Symbols  *symtab.Table
	WorkDir  string // scratch directory for the module build
	Output   string // path of the .ko to write
	Progress func(string)
}

// validName matches module names the kernel accepts and kbuild can build.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,55}$`)

// Build writes a livepatch module that replaces the changed functions of
// objs in the running kernel.
func Build(ctx context.Context, objs []Object, opts Options) error {
	if !validName.MatchString(opts.Name) {
		return fmt.Errorf("module name %q: use 1 to 55 letters, digits, '-' or '_'", opts.Name)
	}
	preps, err := prepareAll(objs, opts.Symbols)
	if err != nil {
		return err
	}
	dir := filepath.Join(opts.WorkDir, "module")
	if err := writeSources(dir, opts.Name, preps); err != nil {
		return err
	}
	progress(opts, "linking module "+opts.Name+".ko with the kbuild of "+opts.Kernel.Release)
	if err := runKbuild(ctx, opts.Kernel, dir); err != nil {
		return err
	}
	built := filepath.Join(dir, opts.Name+".ko")
	if err := addLivepatchRelocs(built, preps); err != nil {
		return fmt.Errorf("add livepatch relocations to %s: %w", built, err)
	}
	return install(built, opts.Output)
}

func progress(opts Options, msg string) {
	if opts.Progress != nil {
		opts.Progress(msg)
	}
}

func prepareAll(objs []Object, table *symtab.Table) ([]*prepared, error) {
	var preps []*prepared
	for i, obj := range objs {
		if obj.Result == nil || obj.Result.Patch == nil {
			return nil, fmt.Errorf("%s: no patch object to build from", obj.Source)
		}
		r := &resolver{table: table, source: obj.Source, orig: obj.Orig}
		p, err := prepare(i, obj, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj.Source, err)
		}
		preps = append(preps, p)
	}
	return preps, nil
}

// writeSources writes the patch objects, the registration code and the
// Kbuild file into dir.
func writeSources(dir, name string, preps []*prepared) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	parts := []string{"keepup-register.o"}
	for i, p := range preps {
		obj := fmt.Sprintf("patch-%d.o", i)
		if err := p.file.WriteFile(filepath.Join(dir, obj)); err != nil {
			return fmt.Errorf("write %s: %w", obj, err)
		}
		// modpost reads each object's kbuild command file; this one names
		// no sources, since the object comes from the differ.
		cmd := fmt.Sprintf("cmd_%s := keepup differ output\n", filepath.Join(dir, obj))
		if err := os.WriteFile(filepath.Join(dir, "."+obj+".cmd"), []byte(cmd), 0o644); err != nil {
			return err
		}
		parts = append(parts, obj)
	}
	if err := os.WriteFile(filepath.Join(dir, "keepup-register.c"), []byte(registrationSource(name, preps)), 0o644); err != nil {
		return err
	}
	kbuild := fmt.Sprintf("obj-m := %s.o\n%s-y := %s\n", name, name, strings.Join(parts, " "))
	return os.WriteFile(filepath.Join(dir, "Kbuild"), []byte(kbuild), 0o644)
}

// runKbuild builds the module in dir against the target's headers.
func runKbuild(ctx context.Context, k *target.Kernel, dir string) error {
	args := []string{"-C", k.HeadersDir, "M=" + dir, "modules"}
	cmd := exec.CommandContext(ctx, "make", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kbuild module link (make %s): %w\n%s", strings.Join(args, " "), err, tail(out, 40))
	}
	return nil
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// install copies the module to its final path through a temporary file,
// so a failure leaves no partial module behind.
func install(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", to, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), to)
}
