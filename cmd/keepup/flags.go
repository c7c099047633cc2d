package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// newFlagSet returns a flag set for one subcommand whose usage text starts
// with synopsis and description.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: keepup %s %s\n\n%s\n\nOptions:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing options after positional arguments as in
// "keepup vmtest fix.ko --check ./check.sh", and returns the positional
// arguments. A help request becomes errHelp. An argument "--" ends option
// parsing.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		if err != nil && strings.Contains(err.Error(), "parse error") {
			err = fmt.Errorf("%w (durations need a unit, such as 90s or 2m)", err)
		}
		if err != nil {
			return nil, withExitCode(exitError, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, checkDurations(fs)
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), checkDurations(fs)
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// checkDurations rejects a zero or negative value for any duration option,
// since every duration keepup takes is a time limit.
func checkDurations(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		getter, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		if d, isDuration := getter.Get().(time.Duration); isDuration && d <= 0 && err == nil {
			err = withExitCode(exitError, fmt.Errorf("invalid -%s %s: a time limit must be positive", f.Name, d))
		}
	})
	return err
}
