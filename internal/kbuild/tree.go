package kbuild

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// copyTree copies the prepared object tree from to a new directory to,
// keeping modification times so that kbuild treats it as up to date.
func copyTree(ctx context.Context, from, to string) error {
	out, err := exec.CommandContext(ctx, "cp", "-a", from, to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy %s: %w: %s", from, err, bytes.TrimSpace(out))
	}
	return relocateToolRecords(from, to)
}

// relocateToolRecords rewrites the absolute paths of the original tree in
// the copy's tools/ command and dependency files. The tools build system
// records absolute output paths, so without this every copy would rebuild
// objtool and resolve_btfids. Modification times are kept.
func relocateToolRecords(from, to string) error {
	return filepath.WalkDir(filepath.Join(to, "tools"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isBuildRecord(d.Name()) {
			return err
		}
		return replaceInFile(p, from, to)
	})
}

func isBuildRecord(name string) bool {
	return strings.HasSuffix(name, ".cmd") || strings.HasSuffix(name, ".d")
}

func replaceInFile(path, old, replacement string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(old)) {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	data = bytes.ReplaceAll(data, []byte(old), []byte(replacement))
	if err := os.WriteFile(path, data, info.Mode().Perm()); err != nil {
		return fmt.Errorf("relocate %s: %w", path, err)
	}
	return os.Chtimes(path, info.ModTime(), info.ModTime())
}
