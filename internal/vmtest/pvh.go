package vmtest

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Loaders: how QEMU starts the kernel.
const (
	// LoaderImage boots the compressed image through its own decompressor,
	// as a boot loader does on the target machine, with KASLR.
	LoaderImage = "image"
	// LoaderPVH boots the uncompressed vmlinux from the image through its
	// PVH entry point. It skips the decompressor, which takes about 6 s of
	// the boot under TCG (seen with Debian's XZ-compressed 6.1 image), and
	// with it KASLR, which the decompressor applies.
	LoaderPVH = "pvh"
)

// ELF note that marks a kernel's PVH entry point.
const (
	xenNoteName        = "Xen"
	xenNotePhys32Entry = 18 // XEN_ELFNOTE_PHYS32_ENTRY: 32-bit physical entry address
)

// Magic numbers of the compressed payload inside a bzImage.
var (
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
)

// extractVmlinux writes the uncompressed kernel inside image to dir and
// returns its path. It supports XZ payloads (with the xz tool) and gzip
// payloads, and checks that the result has a PVH entry point.
func extractVmlinux(image, dir string) (string, error) {
	data, err := os.ReadFile(image)
	if err != nil {
		return "", fmt.Errorf("extract vmlinux: %w", err)
	}
	path := filepath.Join(dir, "vmlinux")
	if err := decompressPayload(data, path); err != nil {
		return "", fmt.Errorf("extract vmlinux from %s: %w", image, err)
	}
	if err := checkPVHEntry(path); err != nil {
		return "", fmt.Errorf("kernel %s: %w", image, err)
	}
	return path, nil
}

// decompressPayload finds the compressed kernel in a bzImage and writes it
// uncompressed to path.
func decompressPayload(image []byte, path string) error {
	if offset := bytes.Index(image, xzMagic); offset >= 0 {
		return unxz(image[offset:], path)
	}
	if offset := bytes.Index(image, gzipMagic); offset >= 0 {
		return gunzip(image[offset:], path)
	}
	return errors.New("no XZ or gzip payload found: use the image loader for this kernel")
}

// unxz decompresses the first XZ stream of data and ignores the rest of
// the bzImage after it.
func unxz(data []byte, path string) error {
	xz, err := exec.LookPath("xz")
	if err != nil {
		return errors.New("xz not found in PATH: install the Debian package xz-utils")
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()

	var stderr bytes.Buffer
	cmd := exec.Command(xz, "--decompress", "--stdout", "--single-stream")
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stdout = out
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.Close()
}

func gunzip(data []byte, path string) error {
	reader, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	reader.Multistream(false)
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()

	if _, err := io.Copy(out, reader); err != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	return out.Close()
}

// checkPVHEntry returns an error unless the ELF kernel at path has a
// XEN_ELFNOTE_PHYS32_ENTRY note, which QEMU needs to boot it directly.
func checkPVHEntry(path string) error {
	file, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read vmlinux: %w", err)
	}
	defer file.Close()

	for _, prog := range file.Progs {
		if prog.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(prog.Open())
		if err != nil {
			return fmt.Errorf("read vmlinux notes: %w", err)
		}
		if hasNote(notes, file.ByteOrder, xenNoteName, xenNotePhys32Entry) {
			return nil
		}
	}
	return errors.New("no PVH entry point (CONFIG_PVH): use the image loader")
}

// hasNote reports whether an ELF note segment contains a note of that
// name and type.
func hasNote(notes []byte, order binary.ByteOrder, name string, noteType uint32) bool {
	for len(notes) >= 12 {
		nameSize := order.Uint32(notes[0:4])
		descSize := order.Uint32(notes[4:8])
		typ := order.Uint32(notes[8:12])
		nameEnd := 12 + align4(nameSize)
		end := nameEnd + align4(descSize)
		if end > uint64(len(notes)) {
			return false
		}
		noteName := string(bytes.TrimRight(notes[12:12+uint64(nameSize)], "\x00"))
		if noteName == name && typ == noteType {
			return true
		}
		notes = notes[end:]
	}
	return false
}

func align4(n uint32) uint64 {
	return (uint64(n) + 3) &^ 3
}
