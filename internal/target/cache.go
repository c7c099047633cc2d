package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The cache holds each kernel as <kernels>/<release>, a symbolic link to
// the directory <kernels>/.<release>.<random> it was prepared in. kbuild
// writes absolute paths into the prepared tree, so that directory can never
// be renamed. Publishing the link by rename makes a kernel appear complete
// or not at all.

const kernelFile = "kernel.json"

// loadKernel returns the published kernel for release, or an error
// matching fs.ErrNotExist if there is none.
func loadKernel(kernels, release string) (*Kernel, error) {
	data, err := os.ReadFile(filepath.Join(kernels, release, kernelFile))
	if err != nil {
		return nil, err
	}
	var k Kernel
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("read cached kernel %s: %w", release, err)
	}
	if err := checkCompiler(k.Config); err != nil {
		return nil, err
	}
	return &k, nil
}

// lockKernel takes the exclusive lock on <kernels>/<release>.lock, waiting
// until it is free or ctx is done, and returns the function that releases it.
func lockKernel(ctx context.Context, kernels, release string, progress func(string)) (func(), error) {
	path := filepath.Join(kernels, release+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for waiting := false; ; waiting = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waiting {
			progress(fmt.Sprintf("wait for %s, held by another prepare of %s", path, release))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeStale deletes directories that interrupted prepares of release
// left behind. The caller holds the kernel's lock.
func removeStale(kernels, release string) error {
	stale, err := filepath.Glob(filepath.Join(kernels, "."+release+".*"))
	if err != nil {
		return err
	}
	for _, dir := range stale {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove stale %s: %w", dir, err)
		}
	}
	return nil
}

// publish writes k into dir and links <kernels>/<release> to dir.
func publish(k *Kernel, kernels, dir string) error {
	data, err := json.MarshalIndent(k, "", "\t")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, kernelFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("publish %s: %w", k.Release, err)
	}
	tmpLink := dir + ".link"
	if err := os.Symlink(filepath.Base(dir), tmpLink); err != nil {
		return fmt.Errorf("publish %s: %w", k.Release, err)
	}
	if err := os.Rename(tmpLink, filepath.Join(kernels, k.Release)); err != nil {
		os.Remove(tmpLink)
		return fmt.Errorf("publish %s: %w", k.Release, err)
	}
	return nil
}
