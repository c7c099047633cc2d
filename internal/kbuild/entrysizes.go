package kbuild

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keepup/keepup/internal/target"
)

// probeSource is a C file compiled with the kernel's own headers and
// flags. Its one array records the size of each special section's entry
// structure, or 0 where this kernel's config lacks the structure.
const probeSource = `// Written by keepup: the entry sizes of the kernel's special sections.
#include <linux/bug.h>
#include <linux/jump_label.h>
#include <linux/static_call_types.h>
#include <linux/extable.h>
#include <asm/extable.h>
#include <asm/alternative.h>
#include <asm/orc_types.h>
#ifdef CONFIG_PARAVIRT
#include <asm/paravirt_types.h>
#endif

const unsigned int keepup_entry_sizes[] = {
#ifdef CONFIG_GENERIC_BUG
	sizeof(struct bug_entry),
#else
	0,
#endif
	sizeof(struct exception_table_entry),
	sizeof(struct alt_instr),
#ifdef CONFIG_JUMP_LABEL
	sizeof(struct jump_entry),
#else
	0,
#endif
	sizeof(struct orc_entry),
#ifdef CONFIG_HAVE_STATIC_CALL_INLINE
	sizeof(struct static_call_site),
#else
	0,
#endif
#ifdef CONFIG_PARAVIRT
	sizeof(struct paravirt_patch_site),
#else
	0,
#endif
};
`

// probeSections names the sections whose entry sizes probeSource records,
// in its order.
var probeSections = []string{
	"__bug_table", "__ex_table", ".altinstructions", "__jump_table",
	".orc_unwind", ".static_call_sites", ".parainstructions",
}

// probePath is the probe's path in the scratch tree. Its directory's
// objects are built into vmlinux, so the probe gets the built-in flags.
const probePath = "kernel/keepup_entry_sizes.c"

// EntrySizes compiles a small probe with the kernel's headers and flags and
// returns the entry size in bytes of each special section whose entries
// are structures, keyed by section name, as the target itself defines
// them. It never writes to the kernel's trees.
func EntrySizes(ctx context.Context, k *target.Kernel, opts Options) (map[string]int, error) {
	b, err := newBuild(k, opts)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tree)
	if err := b.timed("copy build tree", func() error { return copyTree(ctx, k.BuildDir, b.tree) }); err != nil {
		return nil, err
	}
	src := filepath.Join(b.tree, filepath.FromSlash(probePath))
	if err := os.WriteFile(src, []byte(probeSource), 0o644); err != nil {
		return nil, err
	}
	if err := b.timed("read special-section entry sizes", func() error { return b.make(ctx, []string{objectPath(probePath)}) }); err != nil {
		return nil, fmt.Errorf("probe entry sizes: %w", err)
	}
	return readProbe(filepath.Join(b.tree, filepath.FromSlash(objectPath(probePath))))
}

// readProbe reads the probe's array of sizes from its object.
func readProbe(path string) (map[string]int, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read entry size probe: %w", err)
	}
	defer f.Close()
	data, err := symbolData(f, "keepup_entry_sizes")
	if err != nil {
		return nil, fmt.Errorf("read entry size probe %s: %w", path, err)
	}
	if len(data) != 4*len(probeSections) {
		return nil, fmt.Errorf("read entry size probe %s: %d bytes of sizes, want %d", path, len(data), 4*len(probeSections))
	}
	sizes := map[string]int{}
	for i, name := range probeSections {
		if n := binary.LittleEndian.Uint32(data[4*i:]); n > 0 {
			sizes[name] = int(n)
		}
	}
	return sizes, nil
}

// symbolData returns the bytes of a defined symbol.
func symbolData(f *elf.File, name string) ([]byte, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for _, y := range syms {
		if y.Name != name || int(y.Section) >= len(f.Sections) || y.Section == elf.SHN_UNDEF {
			continue
		}
		data, err := f.Sections[y.Section].Data()
		if err != nil {
			return nil, err
		}
		if y.Value+y.Size > uint64(len(data)) {
			return nil, fmt.Errorf("symbol %s lies outside its section", name)
		}
		return data[y.Value : y.Value+y.Size], nil
	}
	return nil, fmt.Errorf("symbol %s not found", name)
}
