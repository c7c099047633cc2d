package livepatch

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixtureModule is klp_cmdline.ko as built against the Debian headers of
// 6.1.0-57-amd64 by testdata/klp_cmdline/Makefile, with debug info stripped.
const fixtureModule = "testdata/klp_cmdline.ko"

const fixtureVermagic = "6.1.0-57-amd64 SMP preempt mod_unload modversions"

func TestReadModinfoFixture(t *testing.T) {
	info, err := ReadModinfo(fixtureModule)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "klp_cmdline" {
		t.Errorf("Name = %q, want klp_cmdline", info.Name)
	}
	if info.Vermagic != fixtureVermagic {
		t.Errorf("Vermagic = %q, want %q", info.Vermagic, fixtureVermagic)
	}
	if info.Release() != "6.1.0-57-amd64" {
		t.Errorf("Release() = %q, want 6.1.0-57-amd64", info.Release())
	}
	if !info.Livepatch {
		t.Error("Livepatch = false, want true")
	}
	if got := info.Fields["license"]; !reflect.DeepEqual(got, []string{"GPL"}) {
		t.Errorf("Fields[license] = %q, want [GPL]", got)
	}
}

func TestReadModinfoNotELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text.ko")
	if err := os.WriteFile(path, []byte("not a module"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModinfo(path); err == nil {
		t.Fatal("ReadModinfo of a text file: got no error")
	}
}

func TestReadModinfoNoSection(t *testing.T) {
	executable, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModinfo(executable); err == nil {
		t.Fatal("ReadModinfo of the test binary: got no error")
	}
}

func TestParseModinfo(t *testing.T) {
	tests := []struct {
		name    string
		section string
		want    Modinfo
	}{
		{
			name:    "full",
			section: "livepatch=Y\x00license=GPL\x00depends=a,b\x00name=fix\x00vermagic=6.1.0-57-amd64 SMP \x00\x00\x00",
			want:    Modinfo{Name: "fix", Vermagic: "6.1.0-57-amd64 SMP", Livepatch: true, Depends: []string{"a", "b"}},
		},
		{
			name:    "not a live patch",
			section: "livepatch=N\x00name=plain\x00vermagic=6.1.0-57-amd64 SMP\x00",
			want:    Modinfo{Name: "plain", Vermagic: "6.1.0-57-amd64 SMP"},
		},
		{
			name:    "empty depends",
			section: "depends=\x00name=x\x00",
			want:    Modinfo{Name: "x"},
		},
		{
			name:    "entries without a value",
			section: "garbage\x00\x00name=y\x00",
			want:    Modinfo{Name: "y"},
		},
		{
			name:    "empty",
			section: "",
			want:    Modinfo{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseModinfo([]byte(tt.section))
			got.Fields = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("parseModinfo(%q) = %+v, want %+v", tt.section, *got, tt.want)
			}
		})
	}
}

func TestModuleNameFromPath(t *testing.T) {
	if got := moduleNameFromPath("/x/livepatch-fix-1.ko"); got != "livepatch_fix_1" {
		t.Errorf("moduleNameFromPath = %q, want livepatch_fix_1", got)
	}
}

func FuzzParseModinfo(f *testing.F) {
	f.Add([]byte("name=fix\x00vermagic=6.1.0-57-amd64 SMP\x00livepatch=Y\x00"))
	f.Add([]byte("=\x00==\x00depends=,\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info := parseModinfo(data)
		if info.Livepatch && info.Fields["livepatch"] == nil {
			t.Fatal("Livepatch set without a livepatch field")
		}
	})
}
