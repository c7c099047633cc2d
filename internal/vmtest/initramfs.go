package vmtest

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Initramfs is the file tree of an initial RAM file system. Add files,
// then write it as a gzip-compressed newc cpio archive with Write.
type Initramfs struct {
	entries map[string]initramfsEntry
}

type initramfsEntry struct {
	mode     uint32 // file type and permission bits
	data     []byte // contents of a file added from memory
	hostPath string // file on the host, read by Write
	target   string // symlink target
}

// NewInitramfs returns an empty file tree.
func NewInitramfs() *Initramfs {
	return &Initramfs{entries: map[string]initramfsEntry{}}
}

// AddBytes adds a regular file with the given contents and permissions.
func (r *Initramfs) AddBytes(guestPath string, data []byte, perm fs.FileMode) {
	r.add(guestPath, initramfsEntry{mode: modeRegular | uint32(perm.Perm()), data: data})
}

// AddFile adds a copy of the host file at hostPath, read when the archive
// is written.
func (r *Initramfs) AddFile(guestPath, hostPath string, perm fs.FileMode) {
	r.add(guestPath, initramfsEntry{mode: modeRegular | uint32(perm.Perm()), hostPath: hostPath})
}

// AddSymlink adds a symbolic link to target.
func (r *Initramfs) AddSymlink(guestPath, target string) {
	r.add(guestPath, initramfsEntry{mode: modeSymlink | 0o777, target: target})
}

// AddDir adds an empty directory.
func (r *Initramfs) AddDir(guestPath string) {
	r.add(guestPath, initramfsEntry{mode: modeDir | 0o755})
}

// add stores an entry under its path relative to the archive root. A
// later entry replaces an earlier one at the same path.
func (r *Initramfs) add(guestPath string, entry initramfsEntry) {
	name := strings.TrimPrefix(path.Clean("/"+guestPath), "/")
	if name == "" {
		return
	}
	r.entries[name] = entry
}

// Write writes the tree as a gzip-compressed newc cpio archive. Missing
// parent directories are added, and parents come before their children.
func (r *Initramfs) Write(w io.Writer) error {
	compressed := gzip.NewWriter(w)
	archive := newCPIOWriter(compressed)

	for _, name := range r.names() {
		if err := r.writeEntry(archive, name); err != nil {
			return err
		}
	}
	if err := archive.close(); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	if err := compressed.Close(); err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return nil
}

// WriteFile writes the archive to a new file at path.
func (r *Initramfs) WriteFile(path string) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	if err := r.Write(file); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write initramfs %s: %w", path, err)
	}
	return nil
}

// names returns every entry's path plus missing parent directories,
// sorted so that each directory precedes its contents.
func (r *Initramfs) names() []string {
	for name := range r.entries {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := r.entries[dir]; !ok {
				r.entries[dir] = initramfsEntry{mode: modeDir | 0o755}
			}
		}
	}
	names := make([]string, 0, len(r.entries))
	for name := range r.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (r *Initramfs) writeEntry(archive *cpioWriter, name string) error {
	entry := r.entries[name]
	data := entry.data
	switch {
	case entry.hostPath != "":
		contents, err := os.ReadFile(entry.hostPath)
		if err != nil {
			return fmt.Errorf("initramfs file /%s: %w", name, err)
		}
		data = contents
	case entry.mode&0o170000 == modeSymlink:
		data = []byte(entry.target)
	}
	return archive.writeEntry(name, entry.mode, data)
}
