// Package targettest gives tests a prepared target kernel.
package targettest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keepup/keepup/internal/target"
)

// Environment variables that select the kernel.
const (
	KernelEnv   = "KEEPUP_TEST_KERNEL" // kernel release, such as 6.1.0-57-amd64
	CacheDirEnv = "KEEPUP_CACHE_DIR"   // cache root; default: the user's cache directory plus keepup
)

var (
	once   sync.Once
	kernel *target.Kernel
	err    error
)

// Kernel returns the kernel named by KEEPUP_TEST_KERNEL, prepared by the
// Debian provider once per test binary, and skips the test if the variable
// is unset. Progress of a first prepare goes to standard error.
func Kernel(t testing.TB) *target.Kernel {
	t.Helper()
	release := os.Getenv(KernelEnv)
	if release == "" {
		t.Skipf("%s is not set; set it to a kernel release such as 6.1.0-57-amd64 to run tests that need a prepared kernel", KernelEnv)
	}
	once.Do(func() { kernel, err = prepare(release) })
	if err != nil {
		t.Fatalf("prepare kernel %s: %v", release, err)
	}
	return kernel
}

func prepare(release string) (*target.Kernel, error) {
	cacheDir := os.Getenv(CacheDirEnv)
	if cacheDir == "" {
		dir, err := target.DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = dir
	}
	d := &target.Debian{
		CacheDir: filepath.Clean(cacheDir),
		Progress: func(msg string) { fmt.Fprintln(os.Stderr, "targettest:", msg) },
	}
	return d.Prepare(context.Background(), release)
}
