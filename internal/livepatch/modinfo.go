package livepatch

import (
	"bytes"
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"
)

// Modinfo contains the fields of a module's .modinfo section that matter
// when loading it as a live patch.
type Modinfo struct {
	Name      string // module name, which is also the patch's directory under /sys/kernel/livepatch
	Vermagic  string // such as "6.1.0-57-amd64 SMP preempt mod_unload modversions"
	Livepatch bool   // the module declares livepatch=Y
	Depends   []string
	Fields    map[string][]string // every key with its values in section order
}

// Release returns the kernel release the module was built for: the first
// word of its vermagic.
func (m *Modinfo) Release() string {
	release, _, _ := strings.Cut(m.Vermagic, " ")
	return release
}

// ReadModinfo reads the .modinfo section of the kernel module at path.
func ReadModinfo(path string) (*Modinfo, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read module %s: not a kernel module (%w)", path, err)
	}
	defer f.Close()

	section := f.Section(modinfoSection)
	if section == nil {
		return nil, fmt.Errorf("read module %s: no %s section: not a kernel module", path, modinfoSection)
	}
	data, err := section.Data()
	if err != nil {
		return nil, fmt.Errorf("read module %s: section %s: %w", path, modinfoSection, err)
	}

	info := parseModinfo(data)
	if info.Name == "" {
		info.Name = moduleNameFromPath(path)
	}
	return info, nil
}

// parseModinfo splits a .modinfo section: NUL-separated "key=value" strings,
// possibly padded with extra NULs.
func parseModinfo(data []byte) *Modinfo {
	info := &Modinfo{Fields: map[string][]string{}}
	for _, entry := range bytes.Split(data, []byte{0}) {
		key, value, ok := strings.Cut(string(entry), "=")
		if !ok {
			continue
		}
		info.Fields[key] = append(info.Fields[key], value)
	}

	info.Name = lastValue(info.Fields, "name")
	info.Vermagic = strings.TrimSpace(lastValue(info.Fields, "vermagic"))
	info.Livepatch = lastValue(info.Fields, "livepatch") == "Y"
	if depends := lastValue(info.Fields, "depends"); depends != "" {
		info.Depends = strings.Split(depends, ",")
	}
	return info
}

func lastValue(fields map[string][]string, key string) string {
	values := fields[key]
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// moduleNameFromPath derives a module name the way kbuild does when
// .modinfo has no name field: the file name without ".ko", with '-' as '_'.
func moduleNameFromPath(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".ko")
	return strings.ReplaceAll(base, "-", "_")
}
