package kbuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// readCommand returns the command line recorded in a kbuild .cmd file,
// the value of its first "cmd_<target> :=" or "savedcmd_<target> :=" line.
func readCommand(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "cmd_") && !strings.HasPrefix(line, "savedcmd_") {
			continue
		}
		if _, command, ok := strings.Cut(line, " := "); ok {
			return command, nil
		}
	}
	return "", fmt.Errorf("%s: no recorded command", path)
}

// pairs checks that the original and patched objects of each path were
// built by the same command, apart from the source file's path, and
// returns them.
func (b *build) pairs(paths []string) ([]Pair, error) {
	var pairs []Pair
	for _, p := range paths {
		pair, err := b.pair(p)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair)
	}
	return pairs, nil
}

func (b *build) pair(source string) (Pair, error) {
	obj := objectPath(source)
	orig, err := readCommand(filepath.Join(b.work, "orig", cmdPath(obj)))
	if err != nil {
		return Pair{}, err
	}
	patched, err := readCommand(filepath.Join(b.work, "patched", cmdPath(obj)))
	if err != nil {
		return Pair{}, err
	}
	if err := compareCommands(source, b.k.SourceDir, orig, patched); err != nil {
		return Pair{}, err
	}
	return Pair{
		Source:  source,
		Orig:    filepath.Join(b.work, "orig", obj),
		Patched: filepath.Join(b.work, "patched", obj),
		Command: patched,
	}, nil
}

// compareCommands checks that two compiles of source differ only in where
// the source file was read: SourceDir for the original, the scratch tree
// (a path relative to it) for the patched one. It also checks that
// -fmacro-prefix-map strips SourceDir, so that __FILE__ expands to the same
// tree path in both objects.
func compareCommands(source, sourceDir, orig, patched string) error {
	if strings.Contains(orig, " -DMODULE ") {
		return unsupported(source, "built as part of a loadable module, and live patches to modules are not supported yet")
	}
	want := strings.ReplaceAll(orig, " "+filepath.Join(sourceDir, source)+" ", " "+source+" ")
	if want == orig {
		return fmt.Errorf("%s: original compile did not read %s:\n%s", source, filepath.Join(sourceDir, source), orig)
	}
	if patched != want {
		return fmt.Errorf("%s: the patched compile used other flags than the original:\noriginal: %s\npatched:  %s", source, orig, patched)
	}
	if !strings.Contains(orig, " -fmacro-prefix-map="+sourceDir+"/= ") {
		return fmt.Errorf("%s: the compile has no -fmacro-prefix-map for %s, so __FILE__ would differ between the objects", source, sourceDir)
	}
	return nil
}

var modnameRE = regexp.MustCompile(`-DKBUILD_MODNAME='"([^"]*)"'`)

// checkBuiltin rejects paths that are not compiled into vmlinux. Such a
// path is compiled alone to tell a module's file from a file that this
// config does not build.
func (b *build) checkBuiltin(ctx context.Context, paths []string) error {
	builtin, err := vmlinuxSources(b.k.Vmlinux)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if builtin.contains(p) {
			continue
		}
		return b.classifyNotBuiltin(ctx, p)
	}
	return nil
}

func (b *build) classifyNotBuiltin(ctx context.Context, source string) error {
	obj := objectPath(source)
	notBuilt := unsupported(source, "not compiled into vmlinux in this kernel's config, or only #included by another .c file")
	if err := b.make(ctx, []string{obj}); err != nil {
		return notBuilt
	}
	command, err := readCommand(filepath.Join(b.tree, cmdPath(obj)))
	if err != nil || !strings.Contains(command, " -DMODULE ") {
		return notBuilt
	}
	module := "a module"
	if m := modnameRE.FindStringSubmatch(command); m != nil {
		module = "module " + m[1]
	}
	return unsupported(source, "built into %s, and live patches to loadable modules are not supported yet", module)
}
