package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Debian prepares kernels that Debian ships, from the packages apt can
// download: the image, headers, kbuild tools, source and debug symbols.
type Debian struct {
	CacheDir string           // cache root; "" means DefaultCacheDir
	Progress func(msg string) // called with one line per long step; may be nil
}

var _ Provider = (*Debian)(nil)

// DefaultCacheDir returns the user's cache directory plus "keepup".
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(dir, "keepup"), nil
}

// release is a parsed Debian kernel release such as "6.1.0-57-amd64".
type release struct {
	Name    string // 6.1.0-57-amd64
	ABI     string // 6.1.0-57
	Flavour string // amd64
	Series  string // 6.1, the suffix of linux-source-* and linux-kbuild-*
}

var releaseRE = regexp.MustCompile(`^(([0-9]+\.[0-9]+)\.[0-9]+-[0-9]+)-([a-z0-9]+(?:-[a-z0-9]+)*)$`)

func parseRelease(name string) (release, error) {
	m := releaseRE.FindStringSubmatch(name)
	if m == nil {
		return release{}, fmt.Errorf("invalid kernel release %q: expected a Debian release such as 6.1.0-57-amd64", name)
	}
	return release{Name: name, ABI: m[1], Series: m[2], Flavour: m[3]}, nil
}

// Prepare returns the prepared kernel for release, downloading, unpacking
// and preparing it on first use. Later calls reuse the cached kernel.
func (d *Debian) Prepare(ctx context.Context, name string) (*Kernel, error) {
	rel, err := parseRelease(name)
	if err != nil {
		return nil, err
	}
	cacheDir, err := d.cacheDir()
	if err != nil {
		return nil, err
	}
	kernels := filepath.Join(cacheDir, "kernels")
	if k, err := loadKernel(kernels, rel.Name); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	return d.prepareNew(ctx, rel, cacheDir)
}

// prepareNew resolves, downloads and prepares a kernel that is not in the
// cache yet, under the kernel's lock.
func (d *Debian) prepareNew(ctx context.Context, rel release, cacheDir string) (*Kernel, error) {
	if err := checkTools(); err != nil {
		return nil, err
	}
	pkgs, err := resolvePackages(ctx, rel)
	if err != nil {
		return nil, err
	}
	kernels, err := makeCacheDirs(cacheDir)
	if err != nil {
		return nil, err
	}
	unlock, err := lockKernel(ctx, kernels, rel.Name, d.progress)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if k, err := loadKernel(kernels, rel.Name); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := removeStale(kernels, rel.Name); err != nil {
		return nil, err
	}
	debs, err := downloadPackages(ctx, pkgs, filepath.Join(cacheDir, "debs"), d.progress)
	if err != nil {
		return nil, err
	}
	return d.build(ctx, rel, pkgs, debs, kernels)
}

// Releases returns the kernel releases apt has, sorted by version.
func (d *Debian) Releases(ctx context.Context) ([]string, error) {
	return aptReleases(ctx)
}

// Prepared reports whether release is prepared in the cache.
func (d *Debian) Prepared(release string) (bool, error) {
	cacheDir, err := d.cacheDir()
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(filepath.Join(cacheDir, "kernels", release))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d *Debian) cacheDir() (string, error) {
	dir := d.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	return filepath.Abs(dir)
}

func (d *Debian) progress(msg string) {
	if d.Progress != nil {
		d.Progress(msg)
	}
}

// makeCacheDirs creates the cache's kernels and debs directories and
// returns the kernels directory with symbolic links resolved, because
// kbuild records resolved absolute paths.
func makeCacheDirs(cacheDir string) (string, error) {
	for _, sub := range []string{"kernels", "debs"} {
		if err := os.MkdirAll(filepath.Join(cacheDir, sub), 0o755); err != nil {
			return "", fmt.Errorf("create cache: %w", err)
		}
	}
	return filepath.EvalSymlinks(filepath.Join(cacheDir, "kernels"))
}

// debianPackages are the packages one kernel is prepared from.
type debianPackages struct {
	Image, Headers, Common, Kbuild, Source, Debug debPackage
}

func (p debianPackages) all() []debPackage {
	return []debPackage{p.Image, p.Headers, p.Common, p.Kbuild, p.Source, p.Debug}
}

var (
	commonHeadersRE = regexp.MustCompile(`^linux-headers-.*-common`)
	kbuildRE        = regexp.MustCompile(`^linux-kbuild-`)
)

// resolvePackages finds the versions of the packages for rel in apt. The
// source and headers must be the image's version, but the kbuild package
// is whatever apt has, because Debian keeps only its newest version.
func resolvePackages(ctx context.Context, rel release) (debianPackages, error) {
	var p debianPackages
	var err error
	if p.Image, err = aptShow(ctx, "linux-image-"+rel.Name); err != nil {
		return p, unknownRelease(ctx, rel.Name, err)
	}
	version := p.Image.Version
	if p.Headers, err = aptShow(ctx, "linux-headers-"+rel.Name+"="+version); err != nil {
		return p, err
	}
	if p.Common, err = showDependency(ctx, p.Headers, commonHeadersRE, "="+version); err != nil {
		return p, err
	}
	if p.Kbuild, err = showDependency(ctx, p.Headers, kbuildRE, ""); err != nil {
		return p, err
	}
	if p.Source, err = aptShow(ctx, "linux-source-"+rel.Series+"="+version); err != nil {
		return p, fmt.Errorf("source for %s: %w", rel.Name, err)
	}
	if p.Debug, err = aptShow(ctx, "linux-image-"+rel.Name+"-dbg="+version); err != nil {
		return p, fmt.Errorf("debug symbols for %s: %w", rel.Name, err)
	}
	return p, nil
}

func showDependency(ctx context.Context, of debPackage, re *regexp.Regexp, versionSuffix string) (debPackage, error) {
	name, ok := dependencyNamed(of.Depends, re)
	if !ok {
		return debPackage{}, fmt.Errorf("package %s: no dependency matching %s in %q", of.Name, re, of.Depends)
	}
	return aptShow(ctx, name+versionSuffix)
}

// unknownRelease turns a failed lookup of a release's image package into
// an error listing the releases apt has.
func unknownRelease(ctx context.Context, name string, lookupErr error) error {
	releases, err := aptReleases(ctx)
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, lookupErr)
	}
	for _, r := range releases {
		if r == name {
			return fmt.Errorf("look up %s: %w", name, lookupErr)
		}
	}
	if len(releases) == 0 {
		return fmt.Errorf("kernel release %s not found in apt, which has no kernel images; run apt-get update", name)
	}
	if same := sameFlavour(releases, name); len(same) > 0 {
		return fmt.Errorf("kernel release %s not found in apt; apt has %s (run 'keepup kernel list' for all flavours)", name, strings.Join(same, ", "))
	}
	return fmt.Errorf("kernel release %s not found in apt; apt has %s", name, strings.Join(releases, ", "))
}

// sameFlavour returns the releases with the flavour of name, such as amd64.
func sameFlavour(releases []string, name string) []string {
	rel, err := parseRelease(name)
	if err != nil {
		return nil
	}
	var same []string
	for _, r := range releases {
		if other, err := parseRelease(r); err == nil && other.Flavour == rel.Flavour {
			same = append(same, r)
		}
	}
	return same
}

func downloadPackages(ctx context.Context, pkgs debianPackages, debsDir string, progress func(string)) (map[string]string, error) {
	paths := map[string]string{}
	for _, p := range pkgs.all() {
		path, err := download(ctx, p, debsDir, progress)
		if err != nil {
			return nil, err
		}
		paths[p.Name] = path
	}
	return paths, nil
}
