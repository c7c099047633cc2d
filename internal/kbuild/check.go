package kbuild

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnsupported matches errors for diffs that keepup cannot turn into a
// live patch, as opposed to failures while building one.
var ErrUnsupported = errors.New("unsupported change")

// supportedChanges describes what a diff may change, for error messages.
const supportedChanges = "keepup supports changes to existing .c files that are built into vmlinux"

// UnsupportedError is a change that keepup cannot live patch.
type UnsupportedError struct {
	File   string // path in the kernel tree, or "" for the diff as a whole
	Reason string
}

func (e *UnsupportedError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%s; %s", e.Reason, supportedChanges)
	}
	return fmt.Sprintf("%s: %s; %s", e.File, e.Reason, supportedChanges)
}

func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

func unsupported(file, format string, args ...any) error {
	return &UnsupportedError{File: file, Reason: fmt.Sprintf(format, args...)}
}

// CheckFiles checks that every file of d is a change keepup supports: an
// existing .c file inside sourceDir, changed at most once in the diff.
func CheckFiles(d *Diff, sourceDir string) error {
	seen := map[string]bool{}
	for _, f := range d.Files {
		if err := checkFile(f, sourceDir); err != nil {
			return err
		}
		if seen[f.Path] {
			return unsupported(f.Path, "changed twice in one diff")
		}
		seen[f.Path] = true
	}
	return nil
}

func checkFile(f FileDiff, sourceDir string) error {
	if err := checkKind(f); err != nil {
		return err
	}
	if err := checkTreePath(f.Path); err != nil {
		return err
	}
	return checkExists(f.Path, sourceDir)
}

// checkKind rejects new, deleted and renamed files and files other than C
// sources.
func checkKind(f FileDiff) error {
	switch {
	case f.OldName == "/dev/null":
		return unsupported(f.Path, "new files are not supported")
	case f.NewName == "/dev/null":
		return unsupported(f.Path, "deleted files are not supported")
	case treePath(f.OldName, f.OldName) != f.Path:
		return unsupported(f.Path, "renamed from %s, and renames are not supported", f.OldName)
	}
	switch ext := path.Ext(f.Path); ext {
	case ".c":
		return nil
	case ".h":
		return unsupported(f.Path, "changes to header files are not supported, because every file that includes one would change")
	case ".S", ".s":
		return unsupported(f.Path, "changes to assembly files are not supported")
	default:
		return unsupported(f.Path, "only C source files can be patched, not build files or Kconfig")
	}
}

// checkTreePath rejects paths that are absolute or leave the tree.
func checkTreePath(p string) error {
	if p == "" || path.IsAbs(p) || strings.Contains(p, "\\") {
		return unsupported(p, "not a path inside the kernel tree")
	}
	if clean := path.Clean(p); clean != p || clean == ".." || strings.HasPrefix(clean, "../") {
		return unsupported(p, "not a clean path inside the kernel tree")
	}
	return nil
}

// checkExists checks that p is a regular file in sourceDir whose real path
// stays inside sourceDir.
func checkExists(p, sourceDir string) error {
	full := filepath.Join(sourceDir, filepath.FromSlash(p))
	real, err := filepath.EvalSymlinks(full)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: not found in the kernel source %s; check the path, and that the diff's paths start with a/ and b/ as git writes them", p, sourceDir)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", p, err)
	}
	realRoot, err := filepath.EvalSymlinks(sourceDir)
	if err != nil {
		return fmt.Errorf("check %s: %w", sourceDir, err)
	}
	if !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
		return unsupported(p, "resolves to %s, outside the kernel source", real)
	}
	info, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("check %s: %w", p, err)
	}
	if !info.Mode().IsRegular() {
		return unsupported(p, "not a regular file")
	}
	return nil
}
