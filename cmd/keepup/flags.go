package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is the flag set of one subcommand with its usage text.
type flagSet struct {
	*flag.FlagSet
	synopsis, description string
	stdout                io.Writer // for help on request (-h, --help)
}

// newFlagSet returns a flag set for one subcommand whose usage text starts
// with synopsis and description. The flag package itself prints nothing:
// parseFlags returns parse errors, so that they appear once, and prints
// requested help to stdout.
func newFlagSet(name, synopsis, description string, stdout io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, description: description, stdout: stdout}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage writes the usage text and the options to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: keepup %s %s\n\n%s\n\nOptions:\n", fs.Name(), fs.synopsis, fs.description)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseFlags parses args, allowing options after positional arguments as in
// "keepup vmtest fix.ko --check ./check.sh", and returns the positional
// arguments. A help request becomes errHelp. An argument "--" ends option
// parsing.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage(fs.stdout)
			return nil, errHelp
		}
		if err != nil && strings.Contains(err.Error(), "parse error") {
			err = fmt.Errorf("%w (durations need a unit, such as 90s or 2m)", err)
		}
		if err != nil {
			return nil, withExitCode(exitError, fmt.Errorf("%w; run 'keepup %s --help' for the options", err, fs.Name()))
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
func checkDurations(fs *flagSet) error {
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
