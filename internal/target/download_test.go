package target

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDownloadSmallPackage fetches the 1.5 MB kbuild package from the
// Debian mirror, so it runs only with the kernel tests.
func TestDownloadSmallPackage(t *testing.T) {
	if os.Getenv("KEEPUP_TEST_KERNEL") == "" {
		t.Skip("KEEPUP_TEST_KERNEL is not set")
	}
	ctx := context.Background()
	p, err := aptShow(ctx, "linux-kbuild-6.1")
	if err != nil {
		t.Skipf("linux-kbuild-6.1 not in apt: %v", err)
	}
	dir := t.TempDir()
	var progress []string
	path, err := download(ctx, p, dir, func(msg string) { progress = append(progress, msg) })
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyDeb(path, p); err != nil {
		t.Error(err)
	}
	if len(progress) != 1 {
		t.Errorf("progress = %q, want one download line", progress)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		t.Errorf("download directory holds %v, want only %s", entries, filepath.Base(path))
	}

	progress = nil
	again, err := download(ctx, p, dir, func(msg string) { progress = append(progress, msg) })
	if err != nil || again != path || len(progress) != 0 {
		t.Errorf("second download = %q, %v, progress %q; want the cached file reused", again, err, progress)
	}
}
