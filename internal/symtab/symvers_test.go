package symtab

import (
	"strings"
	"testing"
)

const symversSample = "0xf0949581\tseq_printf\tvmlinux\tEXPORT_SYMBOL\t\n" +
	"0x039823de\tinit_uts_ns\tvmlinux\tEXPORT_SYMBOL_GPL\t\n" +
	"0x84b45156\tinsert_resource_expand_to_fit\tvmlinux\tEXPORT_SYMBOL_GPL\tCXL\n" +
	"0x1a2b3c4d\txfs_foo\tfs/xfs/xfs\tEXPORT_SYMBOL\t\n"

func TestParseSymvers(t *testing.T) {
	exports, err := parseSymvers(strings.NewReader(symversSample))
	if err != nil {
		t.Fatal(err)
	}

	tests := []Export{
		{Name: "seq_printf", CRC: 0xf0949581, Module: "vmlinux", Type: "EXPORT_SYMBOL"},
		{Name: "init_uts_ns", CRC: 0x039823de, Module: "vmlinux", Type: "EXPORT_SYMBOL_GPL"},
		{Name: "insert_resource_expand_to_fit", CRC: 0x84b45156, Module: "vmlinux", Type: "EXPORT_SYMBOL_GPL", Namespace: "CXL"},
		{Name: "xfs_foo", CRC: 0x1a2b3c4d, Module: "fs/xfs/xfs", Type: "EXPORT_SYMBOL"},
	}
	for _, want := range tests {
		got, ok := exports[want.Name]
		if !ok {
			t.Errorf("%s: missing", want.Name)
			continue
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", want.Name, got, want)
		}
	}
	if len(exports) != len(tests) {
		t.Errorf("got %d exports, want %d", len(exports), len(tests))
	}
}

func TestExportGPLOnly(t *testing.T) {
	if (Export{Type: "EXPORT_SYMBOL"}).GPLOnly() {
		t.Error("EXPORT_SYMBOL: GPLOnly is true")
	}
	if !(Export{Type: "EXPORT_SYMBOL_GPL"}).GPLOnly() {
		t.Error("EXPORT_SYMBOL_GPL: GPLOnly is false")
	}
}

func TestParseSymversInvalid(t *testing.T) {
	tests := map[string]string{
		"four fields":  "0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\n",
		"bad CRC":      "0xzz\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n",
		"CRC too wide": "0x100000000\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n",
		"empty name":   "0x1\t\tvmlinux\tEXPORT_SYMBOL\t\n",
		"bad type":     "0x1\tfoo\tvmlinux\tEXPORT\t\n",
		"twice":        "0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tfoo\tfs/a/a\tEXPORT_SYMBOL\t\n",
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseSymvers(strings.NewReader(input))
			if err == nil {
				t.Fatalf("parsed %q without error", input)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

func TestParseSymversSkipsEmptyLines(t *testing.T) {
	exports, err := parseSymvers(strings.NewReader("\n0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(exports) != 1 {
		t.Errorf("got %d exports, want 1", len(exports))
	}
}

func FuzzParseSymvers(f *testing.F) {
	f.Add(symversSample)
	f.Add("0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\tNS\n")
	f.Fuzz(func(t *testing.T, input string) {
		exports, err := parseSymvers(strings.NewReader(input))
		if err != nil {
			return
		}
		for name, e := range exports {
			if name != e.Name || e.Name == "" || e.Module == "" {
				t.Errorf("invalid export %+v under %q", e, name)
			}
		}
	})
}
