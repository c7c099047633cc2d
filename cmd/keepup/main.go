// Command keepup builds live patches for running Linux kernels from source
// diffs, proves them in a virtual machine and applies them without a reboot.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses shared by the subcommands.
const (
	exitOK       = 0
	exitError    = 1
	exitRejected = 2
	exitNoChange = 3

	exitInterrupted = 130 // as shells report a command ended by SIGINT
)

// exitCodeError carries a specific exit status out of a subcommand.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode wraps err so that main exits with code.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitCodeError{code: code, err: err}
}

// command is one subcommand of keepup.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

// register adds a subcommand; each subcommand's file calls it from init.
func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "-h"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		if err != nil && ctx.Err() != nil {
			fmt.Fprintf(stderr, "keepup: interrupted: %v\n", err)
			return exitInterrupted
		}
		return report(err, stderr)
	}
	fmt.Fprintf(stderr, "keepup: unknown command %q; run 'keepup help' for the list\n", args[0])
	return exitError
}

// report prints err and returns the exit status it stands for.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) && ec.err == nil {
		return ec.code
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "keepup: %v\n", err)
	if errors.As(err, &ec) {
		return ec.code
	}
	return exitError
}

// errHelp reports that a subcommand printed its help on request.
var errHelp = errors.New("help requested")

func usage(w io.Writer) {
	fmt.Fprintln(w, "keepup: live patches for running Linux kernels, built from source diffs")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: keepup COMMAND [options] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'keepup COMMAND -h' for the options of one command.")
}
