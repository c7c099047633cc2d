package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keepup/keepup/internal/target"
)

func init() {
	register(command{name: "kernel", summary: "fetch and prepare target kernels, list the available ones", run: runKernel})
}

const cacheDirUsage = "cache for kernel packages and prepared trees (default: the user cache dir + /keepup)"

func runKernel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		kernelUsage(stderr)
		if len(args) == 0 {
			return withExitCode(exitError, errors.New("kernel needs a subcommand: prepare or list"))
		}
		return errHelp
	}
	switch args[0] {
	case "prepare":
		return runKernelPrepare(ctx, args[1:], stdout, stderr)
	case "list":
		return runKernelList(ctx, args[1:], stdout, stderr)
	}
	kernelUsage(stderr)
	return withExitCode(exitError, fmt.Errorf("unknown kernel subcommand %q", args[0]))
}

func kernelUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: keepup kernel prepare [--cache-dir DIR] RELEASE")
	fmt.Fprintln(w, "       keepup kernel list [--cache-dir DIR]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "prepare downloads a Debian kernel's packages with apt and prepares its source for compiling.")
	fmt.Fprintln(w, "list prints the kernel releases apt has and marks the prepared ones.")
}

func runKernelPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel prepare", "[--cache-dir DIR] RELEASE",
		"Download the packages of Debian kernel RELEASE (as uname -r prints it) with apt,\n"+
			"unpack them into the cache and prepare the source for compiling single files.\n"+
			"A prepared kernel is reused; progress goes to standard error.", stdout)
	cacheDir := fs.String("cache-dir", "", cacheDirUsage)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.printUsage(stderr)
		return withExitCode(exitError, errors.New("kernel prepare needs one kernel release, such as 6.1.0-57-amd64"))
	}
	start := time.Now()
	logf := func(msg string) { fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), msg) }
	k, err := (&target.Debian{CacheDir: *cacheDir, Progress: logf}).Prepare(ctx, pos[0])
	if err != nil {
		return err
	}
	printKernel(stdout, k)
	return nil
}

func printKernel(w io.Writer, k *target.Kernel) {
	fmt.Fprintf(w, "release   %s\n", k.Release)
	fmt.Fprintf(w, "version   %s\n", k.Version)
	fmt.Fprintf(w, "compiler  %s\n", k.CC)
	fmt.Fprintf(w, "source    %s\n", k.SourceDir)
	fmt.Fprintf(w, "build     %s\n", k.BuildDir)
	fmt.Fprintf(w, "headers   %s\n", k.HeadersDir)
	fmt.Fprintf(w, "image     %s\n", k.Image)
	fmt.Fprintf(w, "vmlinux   %s\n", k.Vmlinux)
}

func runKernelList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel list", "[--cache-dir DIR]",
		"Print the Debian kernel releases apt has, one a line, with \"prepared\" after\n"+
			"those prepared in the cache.", stdout)
	cacheDir := fs.String("cache-dir", "", cacheDirUsage)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.printUsage(stderr)
		return withExitCode(exitError, errors.New("kernel list takes no arguments"))
	}
	d := &target.Debian{CacheDir: *cacheDir}
	releases, err := d.Releases(ctx)
	if err != nil {
		return err
	}
	for _, r := range releases {
		prepared, err := d.Prepared(r)
		if err != nil {
			return err
		}
		if prepared {
			fmt.Fprintf(stdout, "%s\tprepared\n", r)
		} else {
			fmt.Fprintln(stdout, r)
		}
	}
	return nil
}
