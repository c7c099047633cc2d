package kbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/keepup/keepup/internal/target"
)

// Options configures Compile.
type Options struct {
	// WorkDir is the directory for the scratch object tree and the
	// resulting objects, created if missing. Two concurrent compiles must
	// not share one. "" means a new directory under os.TempDir, which the
	// caller removes when done with the objects.
	WorkDir  string
	Progress func(msg string) // called with one line per step; may be nil
}

// Pair is one changed source file compiled before and after the change.
type Pair struct {
	Source  string   // path in the kernel tree, such as fs/proc/cmdline.c
	Orig    string   // absolute path of the object built from the original source
	Patched string   // absolute path of the object built from the patched source
	Command string   // the compiler and objtool command line kbuild ran for the patched object
	Lines   *LineMap // line positions of the source file before and after the diff
}

// Compile parses diff and compiles each file it changes twice, with the
// kernel's own flags plus target.ObjectCFLAGS. It never writes to the
// kernel's SourceDir or BuildDir: each build runs in a copy of BuildDir,
// and kbuild finds the patched file in that copy before the one in
// SourceDir. Errors for changes keepup cannot patch match ErrUnsupported.
func Compile(ctx context.Context, k *target.Kernel, diff []byte, opts Options) ([]Pair, error) {
	d, err := ParseDiff(diff)
	if err != nil {
		return nil, err
	}
	return CompileDiff(ctx, k, d, opts)
}

// CompileDiff is Compile for a diff that is already parsed.
func CompileDiff(ctx context.Context, k *target.Kernel, d *Diff, opts Options) ([]Pair, error) {
	d, docs := d.WithoutDocumentation()
	for _, path := range docs {
		if opts.Progress != nil {
			opts.Progress("ignoring documentation change to " + path)
		}
	}
	if len(d.Files) == 0 {
		return nil, unsupported("", "the diff changes only documentation")
	}
	if err := CheckFiles(d, k.SourceDir); err != nil {
		return nil, err
	}
	patched, lines, err := applyDiff(d, k.SourceDir)
	if err != nil {
		return nil, err
	}
	b, err := newBuild(k, opts)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tree)
	pairs, err := b.run(ctx, d.Paths(), patched)
	if err != nil {
		return nil, err
	}
	for i := range pairs {
		pairs[i].Lines = lines[pairs[i].Source]
	}
	return pairs, nil
}

// applyDiff returns the patched text of each file of d and where its
// lines went.
func applyDiff(d *Diff, sourceDir string) (map[string][]byte, map[string]*LineMap, error) {
	patched := map[string][]byte{}
	lines := map[string]*LineMap{}
	for _, f := range d.Files {
		original, err := os.ReadFile(filepath.Join(sourceDir, f.Path))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", f.Path, err)
		}
		text, m, err := ApplyHunks(f, original)
		if err != nil {
			return nil, nil, err
		}
		patched[f.Path], lines[f.Path] = text, m
	}
	return patched, lines, nil
}

// build is one Compile's scratch state.
type build struct {
	k        *target.Kernel
	work     string // Options.WorkDir
	tree     string // scratch copy of the kernel's BuildDir
	progress func(string)
}

func newBuild(k *target.Kernel, opts Options) (*build, error) {
	work, err := makeWorkDir(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	b := &build{k: k, work: work, tree: filepath.Join(work, "tree"), progress: opts.Progress}
	if b.progress == nil {
		b.progress = func(string) {}
	}
	for _, sub := range []string{"tree", "orig", "patched"} {
		if err := os.RemoveAll(filepath.Join(work, sub)); err != nil {
			return nil, fmt.Errorf("clean work directory: %w", err)
		}
	}
	return b, nil
}

func makeWorkDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "keepup-kbuild-")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create work directory: %w", err)
	}
	return filepath.Abs(dir)
}

func (b *build) run(ctx context.Context, paths []string, patched map[string][]byte) ([]Pair, error) {
	if err := b.timed("copy build tree", func() error { return copyTree(ctx, b.k.BuildDir, b.tree) }); err != nil {
		return nil, err
	}
	if err := b.checkBuiltin(ctx, paths); err != nil {
		return nil, err
	}
	if err := b.compileStage(ctx, "original", paths, "orig"); err != nil {
		return nil, err
	}
	if err := b.placePatched(paths, patched); err != nil {
		return nil, err
	}
	if err := b.compileStage(ctx, "patched", paths, "patched"); err != nil {
		return nil, err
	}
	return b.pairs(paths)
}

func (b *build) timed(step string, fn func() error) error {
	b.progress(step)
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	b.progress(fmt.Sprintf("%s: done in %.1fs", step, time.Since(start).Seconds()))
	return nil
}

// compileStage builds the objects of paths in the scratch tree and moves
// each object and its .cmd file to the same path under work/stage.
func (b *build) compileStage(ctx context.Context, name string, paths []string, stage string) error {
	step := fmt.Sprintf("compile %s %s", name, strings.Join(paths, " "))
	err := b.timed(step, func() error { return b.make(ctx, objectPaths(paths)) })
	if err != nil {
		if name == "patched" {
			return fmt.Errorf("compile patched source: %w", err)
		}
		return fmt.Errorf("compile original source: %w", err)
	}
	for _, p := range paths {
		if err := b.collect(p, stage); err != nil {
			return err
		}
	}
	return nil
}

func objectPaths(paths []string) []string {
	objs := make([]string, len(paths))
	for i, p := range paths {
		objs[i] = objectPath(p)
	}
	return objs
}

func objectPath(source string) string { return strings.TrimSuffix(source, ".c") + ".o" }

// cmdPath returns where kbuild records the command that built obj.
func cmdPath(obj string) string {
	return filepath.Join(filepath.Dir(obj), "."+filepath.Base(obj)+".cmd")
}

// collect moves the object of source and its .cmd file from the scratch
// tree to work/stage, so that the next build cannot reuse the object.
func (b *build) collect(source, stage string) error {
	obj := objectPath(source)
	for _, rel := range []string{obj, cmdPath(obj)} {
		to := filepath.Join(b.work, stage, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(b.tree, rel), to); err != nil {
			return fmt.Errorf("collect %s object: %w", stage, err)
		}
	}
	return nil
}

// placePatched writes the patched sources into the scratch tree, where
// kbuild's VPATH search finds them before the originals in SourceDir. A
// copy goes beside the patched object too.
func (b *build) placePatched(paths []string, patched map[string][]byte) error {
	for _, p := range paths {
		for _, dir := range []string{b.tree, filepath.Join(b.work, "patched")} {
			to := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(to, patched[p], 0o644); err != nil {
				return fmt.Errorf("write patched %s: %w", p, err)
			}
		}
	}
	return nil
}

// make runs kbuild for targets in the scratch tree.
func (b *build) make(ctx context.Context, targets []string) error {
	args := []string{"-C", b.k.SourceDir, "O=" + b.tree, fmt.Sprintf("-j%d", runtime.NumCPU())}
	args = append(args, makeVars(b.k)...)
	args = append(args, targets...)
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make %s: %w\n%s", strings.Join(targets, " "), err, compilerOutput(out.String()))
	}
	return nil
}

// makeVars returns the kernel's make variables, adding
// target.ObjectCFLAGS as KCFLAGS if they set none.
func makeVars(k *target.Kernel) []string {
	for _, v := range k.MakeVars {
		if strings.HasPrefix(v, "KCFLAGS=") {
			return k.MakeVars
		}
	}
	return append(slices.Clip(k.MakeVars), "KCFLAGS="+target.ObjectCFLAGS)
}

// maxOutputLines limits the compiler output quoted in an error; the first
// errors are the useful ones.
const maxOutputLines = 60

// compilerOutput drops make's directory messages from out and keeps the
// first maxOutputLines lines.
func compilerOutput(out string) string {
	var kept []string
	dropped := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, ": Entering directory ") || strings.Contains(line, ": Leaving directory ") {
			continue
		}
		if len(kept) == maxOutputLines {
			dropped++
			continue
		}
		kept = append(kept, line)
	}
	if dropped > 0 {
		kept = append(kept, fmt.Sprintf("... %d more lines", dropped))
	}
	return strings.Join(kept, "\n")
}
