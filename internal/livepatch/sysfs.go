package livepatch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Patch is one live patch as /sys/kernel/livepatch shows it.
type Patch struct {
	Name       string   `json:"name"`
	Enabled    bool     `json:"enabled"`
	Transition bool     `json:"transition"`
	Objects    []Object `json:"objects"`
}

// Object is a kernel object that a patch changes: vmlinux or a module.
type Object struct {
	Name      string     `json:"name"`
	Patched   bool       `json:"patched"` // false while the object is a module that is not loaded
	Functions []Function `json:"functions"`
}

// Function is one replaced function of an object.
type Function struct {
	Name   string `json:"name"`
	Sympos int    `json:"sympos"` // position among same-named kallsyms entries, from 1; sysfs shows 1 for a unique name
}

// patchDir returns the sysfs directory of the patch name.
func (s *system) patchDir(name string) string {
	return filepath.Join(s.sysfs, sysfsLivepatchDir, name)
}

// checkLivepatch returns ErrNoLivepatch unless the kernel has the
// livepatch core.
func (s *system) checkLivepatch() error {
	dir := filepath.Join(s.sysfs, sysfsLivepatchDir)
	_, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s not found", ErrNoLivepatch, dir)
	}
	if err != nil {
		return fmt.Errorf("check livepatch support: %w", err)
	}
	return nil
}

// listPatches reads every patch under /sys/kernel/livepatch, sorted by name.
func (s *system) listPatches() ([]Patch, error) {
	if err := s.checkLivepatch(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.sysfs, sysfsLivepatchDir))
	if err != nil {
		return nil, fmt.Errorf("list patches: %w", err)
	}

	patches := []Patch{}
	for _, entry := range entries {
		patch, err := s.readPatch(entry.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we read it
		}
		if err != nil {
			return nil, err
		}
		patches = append(patches, *patch)
	}
	return patches, nil
}

// patchNames returns the names of the loaded patches, or nil when none
// can be read.
func (s *system) patchNames() []string {
	patches, err := s.listPatches()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(patches))
	for _, patch := range patches {
		names = append(names, patch.Name)
	}
	return names
}

// readPatch reads the state and objects of one patch. The error wraps
// fs.ErrNotExist when no such patch is loaded.
func (s *system) readPatch(name string) (*Patch, error) {
	dir := s.patchDir(name)
	enabled, err := readBool(filepath.Join(dir, attrEnabled))
	if err != nil {
		return nil, fmt.Errorf("read patch %s: %w", name, removedWhileRead(err))
	}
	transition, err := readBool(filepath.Join(dir, attrTransition))
	if err != nil {
		return nil, fmt.Errorf("read patch %s: %w", name, removedWhileRead(err))
	}
	objects, err := readObjects(dir)
	if err != nil {
		return nil, fmt.Errorf("read patch %s: %w", name, removedWhileRead(err))
	}
	return &Patch{Name: name, Enabled: enabled, Transition: transition, Objects: objects}, nil
}

// removedWhileRead makes the error of a read from a patch directory that
// the kernel is removing wrap fs.ErrNotExist as well. kernfs fails reads of
// the files of a kobject being deleted with ENODEV, which happens when a
// disabled patch's transition ends during the read.
func removedWhileRead(err error) error {
	if errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

// readObjects reads the object directories of a patch directory.
func readObjects(patchDir string) ([]Object, error) {
	entries, err := os.ReadDir(patchDir)
	if err != nil {
		return nil, err
	}
	objects := []Object{}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		object, err := readObject(filepath.Join(patchDir, entry.Name()))
		if err != nil {
			return nil, err
		}
		objects = append(objects, *object)
	}
	return objects, nil
}

func readObject(dir string) (*Object, error) {
	patched, err := readBool(filepath.Join(dir, attrPatched))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}

	object := &Object{Name: filepath.Base(dir), Patched: patched, Functions: []Function{}}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		function, err := parseFunctionDir(entry.Name())
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", object.Name, err)
		}
		object.Functions = append(object.Functions, function)
	}
	return object, nil
}

// parseFunctionDir parses a function directory name, "NAME,SYMPOS".
func parseFunctionDir(dirName string) (Function, error) {
	name, sympos, ok := strings.Cut(dirName, ",")
	if !ok {
		return Function{}, fmt.Errorf("function directory %q: expected NAME,SYMPOS", dirName)
	}
	position, err := strconv.Atoi(sympos)
	if err != nil {
		return Function{}, fmt.Errorf("function directory %q: invalid sympos: %w", dirName, err)
	}
	return Function{Name: name, Sympos: position}, nil
}

// readBool reads a sysfs attribute that contains 0 or 1.
func readBool(path string) (bool, error) {
	value, err := readInt(path)
	if err != nil {
		return false, err
	}
	switch value {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("%s: invalid value %d: expected 0 or 1", path, value)
}

func readInt(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	value, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return value, nil
}

// isLivepatchModule reports whether a module of that name is loaded and
// carries the livepatch taint flag 'K', as a disabled patch's module does
// until it is unloaded.
func (s *system) isLivepatchModule(name string) bool {
	data, err := os.ReadFile(filepath.Join(s.sysfs, sysfsModuleDir, name, attrTaint))
	if err != nil {
		return false
	}
	return strings.ContainsRune(string(data), taintLivepatch)
}
