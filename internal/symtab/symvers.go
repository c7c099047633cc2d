package symtab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Export is one exported symbol as Module.symvers lists it.
type Export struct {
	Name      string
	CRC       uint32 // modversions CRC of the symbol's type signature
	Module    string // "vmlinux", or the module's path without ".ko", such as "fs/xfs/xfs"
	Type      string // export macro, such as "EXPORT_SYMBOL" or "EXPORT_SYMBOL_GPL"
	Namespace string // symbol namespace, empty for the global namespace
}

// GPLOnly reports whether only GPL-compatible modules may use the symbol.
func (e Export) GPLOnly() bool {
	return e.Type == "EXPORT_SYMBOL_GPL"
}

// readSymvers parses the Module.symvers file at path.
func readSymvers(path string) (map[string]Export, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read Module.symvers: %w", err)
	}
	defer f.Close()

	exports, err := parseSymvers(f)
	if err != nil {
		return nil, fmt.Errorf("read Module.symvers %s: %w", path, err)
	}
	return exports, nil
}

// parseSymvers parses lines of the form
// "CRC<TAB>NAME<TAB>MODULE<TAB>EXPORT_TYPE<TAB>NAMESPACE", the format
// modpost writes since Linux 5.10. The namespace field may be empty.
func parseSymvers(r io.Reader) (map[string]Export, error) {
	exports := make(map[string]Export)
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if text == "" {
			continue
		}

		e, err := parseSymversLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}

		if old, ok := exports[e.Name]; ok {
			return nil, fmt.Errorf("line %d: symbol %q: exported twice, by %s and %s", line, e.Name, old.Module, e.Module)
		}
		exports[e.Name] = e
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	return exports, nil
}

func parseSymversLine(text string) (Export, error) {
	fields := strings.Split(text, "\t")
	if len(fields) != 5 {
		return Export{}, fmt.Errorf("invalid entry %q: %d tab-separated fields, expected 5", text, len(fields))
	}

	crc, err := strconv.ParseUint(fields[0], 0, 32)
	if err != nil {
		return Export{}, fmt.Errorf("symbol %q: invalid CRC %q: %w", fields[1], fields[0], err)
	}

	e := Export{
		Name:      fields[1],
		CRC:       uint32(crc),
		Module:    fields[2],
		Type:      fields[3],
		Namespace: fields[4],
	}
	if e.Name == "" || e.Module == "" || !strings.HasPrefix(e.Type, "EXPORT_SYMBOL") {
		return Export{}, fmt.Errorf("invalid entry %q", text)
	}
	return e, nil
}
