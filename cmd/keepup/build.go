package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
	"github.com/keepup/keepup/internal/kbuild"
	"github.com/keepup/keepup/internal/klpmod"
	"github.com/keepup/keepup/internal/objdiff"
	"github.com/keepup/keepup/internal/symtab"
	"github.com/keepup/keepup/internal/target"
)

func init() {
	register(command{name: "build", summary: "build a live patch module from a source diff", run: runBuild})
}

type buildFlags struct {
	kernel   string
	cacheDir string
	output   string
	name     string
	keepWork bool
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var bf buildFlags
	fs := newFlagSet("build", "--kernel RELEASE [options] FIX.patch",
		"Build a live patch module for kernel RELEASE from a unified diff against its source.\n"+
			"Only the C files the diff changes are compiled, twice: before and after the change.\n"+
			"Exit status: 0 built, 3 no functional change, 2 change rejected as unsafe, 1 other error.", stdout)
	fs.StringVar(&bf.kernel, "kernel", "", "target kernel release, as uname -r prints it (required)")
	fs.StringVar(&bf.cacheDir, "cache-dir", "", "cache for kernel packages and prepared trees (default: the user cache dir + /keepup)")
	fs.StringVar(&bf.output, "o", "", "output module path (default: livepatch-NAME.ko in the current directory)")
	fs.StringVar(&bf.name, "name", "", "patch name; the module is livepatch-NAME (default: the diff's file name without its extension)")
	fs.BoolVar(&bf.keepWork, "keep-work", false, "keep the scratch directory with the objects and module sources")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || bf.kernel == "" {
		fs.printUsage(stderr)
		return withExitCode(exitError, errors.New("build needs --kernel RELEASE and one diff file"))
	}
	return buildPatch(ctx, bf, pos[0], stdout, stderr)
}

func buildPatch(ctx context.Context, bf buildFlags, diffPath string, stdout, stderr io.Writer) error {
	diff, err := os.ReadFile(diffPath)
	if err != nil {
		return fmt.Errorf("read diff: %w", err)
	}
	name, output, err := moduleNames(bf, diffPath)
	if err != nil {
		return err
	}

	logf := func(msg string) { fmt.Fprintln(stderr, msg) }
	k, err := (&target.Debian{CacheDir: bf.cacheDir, Progress: logf}).Prepare(ctx, bf.kernel)
	if err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "keepup-build-")
	if err != nil {
		return err
	}
	if bf.keepWork {
		logf("keeping scratch directory " + work)
	} else {
		defer os.RemoveAll(work)
	}

	objs, err := diffObjects(ctx, k, diff, work, stdout, logf)
	if err != nil {
		return err
	}
	if err := linkModule(ctx, k, objs, name, work, output, logf); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", output)
	return nil
}

// linkModule binds the patch objects to the target's symbols and writes
// the module to output.
func linkModule(ctx context.Context, k *target.Kernel, objs []klpmod.Object, name, work, output string, logf func(string)) error {
	logf("reading vmlinux symbols")
	table, err := symtab.Load(k.Vmlinux, k.Symvers)
	if err != nil {
		return err
	}
	opts := klpmod.Options{Name: name, Kernel: k, Symbols: table, WorkDir: work, Output: output, Progress: logf}
	return klpmod.Build(ctx, objs, opts)
}

// moduleNames returns the module name and output path for a build, and
// checks both before any work starts.
func moduleNames(bf buildFlags, diffPath string) (string, string, error) {
	base := bf.name
	if base == "" {
		base = strings.TrimSuffix(filepath.Base(diffPath), filepath.Ext(diffPath))
	}
	base = strings.Trim(regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(base, "-"), "-_")
	if base == "" {
		return "", "", fmt.Errorf("patch name %q has no letters or digits; pass --name NAME", bf.name)
	}
	name := "livepatch-" + base
	if len(name) > maxModuleName {
		return "", "", fmt.Errorf("patch name %q is too long: the module name livepatch-NAME may have at most %d characters; pass a shorter --name", base, maxModuleName)
	}
	output := bf.output
	if output == "" {
		output = name + ".ko"
	}
	if err := checkOutput(output); err != nil {
		return "", "", err
	}
	return name, output, nil
}

// maxModuleName is the longest module name the kernel accepts
// (MODULE_NAME_LEN less the terminating NUL).
const maxModuleName = 55

// checkOutput checks that the module can be written to path.
func checkOutput(path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("output %s is a directory; pass -o with a file name such as %s", path, filepath.Join(path, "livepatch-fix.ko"))
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("output directory %s does not exist; create it or pass another -o", dir)
	}
	return nil
}

// diffObjects compiles the files the diff changes and diffs each pair,
// printing one report line per function. It fails with exit status 2 when
// a change is rejected and 3 when nothing changed.
func diffObjects(ctx context.Context, k *target.Kernel, diff []byte, work string, stdout io.Writer, logf func(string)) ([]klpmod.Object, error) {
	pairs, err := kbuild.Compile(ctx, k, diff, kbuild.Options{WorkDir: filepath.Join(work, "objects"), Progress: logf})
	if errors.Is(err, kbuild.ErrUnsupported) {
		return nil, withExitCode(exitRejected, err)
	}
	if err != nil {
		return nil, err
	}
	sizes, err := kbuild.EntrySizes(ctx, k, kbuild.Options{WorkDir: filepath.Join(work, "sizes"), Progress: logf})
	if err != nil {
		return nil, err
	}
	var objs []klpmod.Object
	var rejected []string
	for _, p := range pairs {
		obj, res, err := diffPair(p, sizes)
		if err != nil {
			return nil, err
		}
		for _, line := range res.Lines() {
			fmt.Fprintln(stdout, line)
		}
		switch res.Verdict {
		case objdiff.Rejected:
			rejected = append(rejected, res.Error())
		case objdiff.Changed:
			objs = append(objs, obj)
		}
	}
	if len(rejected) > 0 {
		return nil, withExitCode(exitRejected, errors.New(strings.Join(rejected, "\n")))
	}
	if len(objs) == 0 {
		return nil, withExitCode(exitNoChange, errors.New("no functional change: the diff does not change any function's code"))
	}
	return objs, nil
}

func diffPair(p kbuild.Pair, sizes map[string]int) (klpmod.Object, *objdiff.Result, error) {
	orig, err := elfobj.Open(p.Orig)
	if err != nil {
		return klpmod.Object{}, nil, err
	}
	patched, err := elfobj.Open(p.Patched)
	if err != nil {
		return klpmod.Object{}, nil, err
	}
	object := strings.TrimSuffix(p.Source, ".c") + ".o"
	res, err := objdiff.Diff(orig, patched, objdiff.Options{Object: object, EntrySizes: sizes, MovedLine: p.Lines.Moved})
	if err != nil {
		return klpmod.Object{}, nil, err
	}
	return klpmod.Object{Source: p.Source, Orig: orig, Result: res}, res, nil
}
