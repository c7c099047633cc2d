package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is the flag set of one subcommand, with the writer its help
// goes to when requested.
type flagSet struct {
	*flag.FlagSet
	stdout io.Writer
}

// newFlagSet returns a flag set for one subcommand whose usage text starts
// with synopsis and description. Help on request (-h, --help) goes to
// stdout, and the usage after a wrong argument count to stderr. A parse
// error is returned, not printed, so that it appears once.
func newFlagSet(name, synopsis, description string, stdout, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: keepup %s %s\n\n%s\n\nOptions:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing options after positional arguments as in
// "keepup vmtest fix.ko --check ./check.sh", and returns the positional
// arguments. A help request becomes errHelp. An argument "--" ends option
// parsing.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var positional []string
	for {
		err := parseQuietly(fs, args)
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
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

// parseQuietly parses args with the flag package's own messages silenced,
// and leaves the flag set's output at stdout for a help request.
func parseQuietly(fs *flagSet, args []string) error {
	stderr := fs.Output()
	fs.SetOutput(io.Discard)
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(fs.stdout)
	}
	return err
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
