package vmtest

import (
	"fmt"
	"io"
)

// The "new ASCII" (newc) cpio format that the kernel unpacks as an
// initramfs: a 110-byte header of hex fields, the NUL-terminated name and
// the data, each padded to 4 bytes.
const (
	cpioMagic   = "070701"     // newc header magic, without checksums
	cpioTrailer = "TRAILER!!!" // name of the entry that ends an archive
	cpioAlign   = 4            // alignment of names and data

	modeDir     = 0o040000 // S_IFDIR
	modeRegular = 0o100000 // S_IFREG
	modeSymlink = 0o120000 // S_IFLNK
)

// cpioWriter writes newc cpio entries to an io.Writer.
type cpioWriter struct {
	w       io.Writer
	offset  int64
	inode   uint32
	trailed bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w}
}

// writeEntry writes one entry. For a symlink, data is the link target.
// Owner and group are root and the modification time is zero, so the
// archive depends on its contents only.
func (c *cpioWriter) writeEntry(name string, mode uint32, data []byte) error {
	c.inode++
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	header := fmt.Sprintf("%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		cpioMagic, c.inode, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)

	if err := c.write([]byte(header)); err != nil {
		return fmt.Errorf("cpio entry %s: %w", name, err)
	}
	if err := c.write(append([]byte(name), 0)); err != nil {
		return fmt.Errorf("cpio entry %s: %w", name, err)
	}
	if err := c.pad(); err != nil {
		return fmt.Errorf("cpio entry %s: %w", name, err)
	}
	if err := c.write(data); err != nil {
		return fmt.Errorf("cpio entry %s: %w", name, err)
	}
	if err := c.pad(); err != nil {
		return fmt.Errorf("cpio entry %s: %w", name, err)
	}
	return nil
}

// close writes the trailer entry. It does not close the underlying writer.
func (c *cpioWriter) close() error {
	if c.trailed {
		return nil
	}
	c.trailed = true
	c.inode = 0
	return c.writeEntry(cpioTrailer, 0, nil)
}

func (c *cpioWriter) write(p []byte) error {
	n, err := c.w.Write(p)
	c.offset += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	padding := (cpioAlign - c.offset%cpioAlign) % cpioAlign
	if padding == 0 {
		return nil
	}
	return c.write(make([]byte, padding))
}
