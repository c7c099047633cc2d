package target

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// debPackage is one version of a binary package as apt-cache show prints it.
type debPackage struct {
	Name    string
	Version string
	Arch    string
	Size    int64
	SHA256  string
	Depends string
}

// fileName returns the name apt-get download gives the package's file.
func (p debPackage) fileName() string {
	version := strings.ReplaceAll(p.Version, ":", "%3a")
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, version, p.Arch)
}

// aptShow returns the record of spec, a package name (the candidate
// version) or "name=version".
func aptShow(ctx context.Context, spec string) (debPackage, error) {
	out, err := runOutput(ctx, "", "apt-cache", "show", "--no-all-versions", spec)
	if err != nil {
		return debPackage{}, err
	}
	return parseAptRecord(out)
}

// parseAptRecord parses the first record of apt-cache show output.
func parseAptRecord(out []byte) (debPackage, error) {
	var p debPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch key {
		case "Package":
			p.Name = value
		case "Version":
			p.Version = value
		case "Architecture":
			p.Arch = value
		case "SHA256":
			p.SHA256 = value
		case "Depends":
			p.Depends = value
		case "Size":
			size, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return p, fmt.Errorf("package %s: invalid size %q", p.Name, value)
			}
			p.Size = size
		}
	}
	if p.Name == "" || p.Version == "" || p.Arch == "" {
		return p, fmt.Errorf("apt-cache show printed no package record")
	}
	return p, nil
}

// dependencyNamed returns the first package in a Depends field whose
// name matches re.
func dependencyNamed(depends string, re *regexp.Regexp) (string, bool) {
	for _, alt := range strings.Split(depends, ",") {
		for _, dep := range strings.Split(alt, "|") {
			name, _, _ := strings.Cut(strings.TrimSpace(dep), " ")
			if re.MatchString(name) {
				return name, true
			}
		}
	}
	return "", false
}

var imagePackageRE = regexp.MustCompile(`^linux-image-([0-9]+\.[0-9]+\.[0-9]+-[0-9]+-[a-z0-9-]+)$`)

// aptReleases returns the kernel releases apt has image packages for,
// sorted by version.
func aptReleases(ctx context.Context) ([]string, error) {
	out, err := runOutput(ctx, "", "apt-cache", "search", "--names-only", `^linux-image-[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-`)
	if err != nil {
		return nil, err
	}
	return parseReleases(out), nil
}

// parseReleases picks the releases out of apt-cache search output, leaving
// out the debug and unsigned variants of each image package.
func parseReleases(out []byte) []string {
	var releases []string
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		m := imagePackageRE.FindStringSubmatch(name)
		if m == nil || strings.HasSuffix(name, "-dbg") || strings.HasSuffix(name, "-unsigned") {
			continue
		}
		releases = append(releases, m[1])
	}
	slices.SortFunc(releases, compareVersions)
	return slices.Compact(releases)
}

// compareVersions orders strings by their runs of digits as numbers and
// the rest as text, so "6.1.0-9" sorts before "6.1.0-10".
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, restA := splitVersionRun(a)
		rb, restB := splitVersionRun(b)
		if c := compareVersionRun(ra, rb); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return strings.Compare(a, b)
}

func splitVersionRun(s string) (string, string) {
	digit := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareVersionRun(a, b string) int {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return na - nb
	}
	return strings.Compare(a, b)
}

// download returns the path of p's file in debsDir, fetching it with
// apt-get download unless a file of the right size is already there. A
// download is checked against apt's SHA256 and appears under its final
// name only when complete, so a file of the right size is one that was
// downloaded whole. Hashing a kernel's 1.1 GB of packages again took
// about 10 s on a 2-core test machine.
func download(ctx context.Context, p debPackage, debsDir string, progress func(string)) (string, error) {
	path := filepath.Join(debsDir, p.fileName())
	if info, err := os.Stat(path); err == nil && info.Size() == p.Size {
		return path, nil
	}
	progress(fmt.Sprintf("download %s %s (%d MB)", p.Name, p.Version, p.Size>>20))
	tmp, err := os.MkdirTemp(debsDir, ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := runOutput(ctx, tmp, "apt-get", "download", "-q", p.Name+"="+p.Version); err != nil {
		return "", fmt.Errorf("download %s=%s: %w", p.Name, p.Version, err)
	}
	got := filepath.Join(tmp, p.fileName())
	if err := verifyDeb(got, p); err != nil {
		return "", fmt.Errorf("download %s=%s: %w", p.Name, p.Version, err)
	}
	return path, os.Rename(got, path)
}

// verifyDeb checks that the file at path has the size and SHA256 apt
// lists for p.
func verifyDeb(path string, p debPackage) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() != p.Size {
		return fmt.Errorf("%s: size %d, apt lists %d", path, info.Size(), p.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); p.SHA256 != "" && sum != p.SHA256 {
		return fmt.Errorf("%s: SHA256 %s, apt lists %s", path, sum, p.SHA256)
	}
	return nil
}

// runOutput runs a command in dir and returns its standard output. The
// error includes the command's standard error.
func runOutput(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := command(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
