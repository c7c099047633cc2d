package target

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseRelease(t *testing.T) {
	rel, err := parseRelease("6.1.0-57-amd64")
	if err != nil {
		t.Fatal(err)
	}
	want := release{Name: "6.1.0-57-amd64", ABI: "6.1.0-57", Flavour: "amd64", Series: "6.1"}
	if rel != want {
		t.Errorf("parseRelease = %+v, want %+v", rel, want)
	}
	rel, err = parseRelease("6.1.0-57-cloud-amd64")
	if err != nil || rel.Flavour != "cloud-amd64" {
		t.Errorf("parseRelease(cloud) = %+v, %v", rel, err)
	}
}

func TestParseReleaseInvalid(t *testing.T) {
	for _, name := range []string{"", "6.1.0", "6.1.0-57", "../6.1.0-57-amd64", "6.1.0-57-amd64/x", "6.1.0-57-AMD64", "6.1.0-57-amd64 "} {
		if _, err := parseRelease(name); err == nil {
			t.Errorf("parseRelease(%q) succeeded", name)
		}
	}
}

func TestParseAptRecord(t *testing.T) {
	out := `Package: linux-headers-6.1.0-57-amd64
Source: linux
Version: 6.1.192-3
Architecture: amd64
Depends: linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), linux-compiler-gcc-12-x86
Size: 1841556
SHA256: 515e0075e18508f9d048a99b776e155a30bca68da16d3d614323c4384f53905d

Package: ignored
`
	p, err := parseAptRecord([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "linux-headers-6.1.0-57-amd64" || p.Version != "6.1.192-3" || p.Arch != "amd64" || p.Size != 1841556 {
		t.Errorf("parseAptRecord = %+v", p)
	}
	if got := p.fileName(); got != "linux-headers-6.1.0-57-amd64_6.1.192-3_amd64.deb" {
		t.Errorf("fileName() = %q", got)
	}
	common, ok := dependencyNamed(p.Depends, commonHeadersRE)
	if !ok || common != "linux-headers-6.1.0-57-common" {
		t.Errorf("common headers dependency = %q, %v", common, ok)
	}
	kbuild, ok := dependencyNamed(p.Depends, kbuildRE)
	if !ok || kbuild != "linux-kbuild-6.1" {
		t.Errorf("kbuild dependency = %q, %v", kbuild, ok)
	}
}

func TestParseReleases(t *testing.T) {
	out := `linux-image-6.1.0-10-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.1.0-9-amd64 - Linux 6.1 for 64-bit PCs (signed)
linux-image-6.1.0-9-amd64-dbg - Debug symbols for linux-image-6.1.0-9-amd64
linux-image-6.1.0-9-amd64-unsigned - Linux 6.1 for 64-bit PCs
linux-image-6.1.0-9-cloud-amd64 - Linux 6.1 for x86-64 cloud (signed)
linux-image-amd64 - Linux for 64-bit PCs (meta-package)
`
	got := parseReleases([]byte(out))
	want := []string{"6.1.0-9-amd64", "6.1.0-9-cloud-amd64", "6.1.0-10-amd64"}
	if !slices.Equal(got, want) {
		t.Errorf("parseReleases = %v, want %v", got, want)
	}
}

func TestCompareVersions(t *testing.T) {
	ordered := []string{"6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-57-amd64", "6.10.0-1-amd64"}
	for i := 0; i+1 < len(ordered); i++ {
		if compareVersions(ordered[i], ordered[i+1]) >= 0 {
			t.Errorf("compareVersions(%q, %q) >= 0", ordered[i], ordered[i+1])
		}
	}
}

func TestRewriteHeadersMakefile(t *testing.T) {
	root := t.TempDir()
	common := filepath.Join(root, "usr/src/linux-headers-6.1.0-57-common")
	headers := filepath.Join(root, "usr/src/linux-headers-6.1.0-57-amd64")
	for _, dir := range []string{common, headers} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(common, "Makefile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	makefile := filepath.Join(headers, "Makefile")
	if err := os.WriteFile(makefile, []byte("include /usr/src/linux-headers-6.1.0-57-common/Makefile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewriteHeadersMakefile(makefile, root); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(makefile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "include " + filepath.Join(common, "Makefile") + "\n"; string(data) != want {
		t.Errorf("Makefile = %q, want %q", data, want)
	}
}

func TestRewriteHeadersMakefileUnexpected(t *testing.T) {
	makefile := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(makefile, []byte("obj-m += x.o\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := rewriteHeadersMakefile(makefile, "/nowhere")
	if err == nil || !strings.Contains(err.Error(), "obj-m") {
		t.Errorf("error = %v, want one quoting the content", err)
	}
}
