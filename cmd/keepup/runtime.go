package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/keepup/keepup/internal/livepatch"
)

func init() {
	register(command{name: "apply", summary: "load a live patch module into the running kernel", run: runApply})
	register(command{name: "list", summary: "list the live patches in the running kernel", run: runList})
	register(command{name: "revert", summary: "disable and unload a live patch", run: runRevert})
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apply", "MODULE.ko [--timeout 60s]",
		"Loads the live patch module into the running kernel and waits until every task runs the\n"+
			"patched code. The module must be built for the running kernel's release (uname -r).\n"+
			"Needs root. Progress goes to standard error, the applied patch to standard output.",
		stdout)
	timeout := fs.Duration("timeout", livepatch.DefaultTimeout, "maximum wait for all tasks to switch to the patched code")
	args, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		fs.printUsage(stderr)
		return withExitCode(exitError, fmt.Errorf("apply: expected one module file, got %d arguments", len(args)))
	}

	patch, err := livepatch.Apply(ctx, args[0], livepatch.Options{Timeout: *timeout, Progress: progressTo(stderr)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %s\n", patch.Name)
	printObjects(stdout, *patch)
	return nil
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "[--json]",
		"Lists the live patches loaded in the running kernel: whether each is enabled, whether it is\n"+
			"in transition, and the functions it replaces in each object (vmlinux or a module).",
		stdout)
	asJSON := fs.Bool("json", false, "print the patches as a JSON array")
	args, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 0 {
		fs.printUsage(stderr)
		return withExitCode(exitError, fmt.Errorf("list: unexpected arguments %q", args))
	}

	patches, err := livepatch.List()
	if err != nil {
		return err
	}
	if *asJSON {
		encoder := json.NewEncoder(stdout)
		encoder.SetIndent("", "  ")
		return encoder.Encode(patches)
	}
	printPatches(stdout, patches)
	return nil
}

func runRevert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("revert", "NAME|MODULE.ko [--timeout 60s]",
		"Disables the live patch, waits until no task runs its code and unloads its module.\n"+
			"NAME is the patch's name as 'keepup list' prints it, or the module file it was\n"+
			"loaded from. Needs root.",
		stdout)
	timeout := fs.Duration("timeout", livepatch.DefaultTimeout, "maximum wait for all tasks to leave the patched code")
	args, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		fs.printUsage(stderr)
		return withExitCode(exitError, fmt.Errorf("revert: expected one patch name or module file, got %d arguments", len(args)))
	}

	name, err := patchName(args[0])
	if err != nil {
		return err
	}
	if err := livepatch.Revert(ctx, name, livepatch.Options{Timeout: *timeout, Progress: progressTo(stderr)}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reverted %s\n", name)
	return nil
}

// patchName returns the patch name for a revert argument: a module file's
// name from its .modinfo, or the argument itself.
func patchName(arg string) (string, error) {
	if !strings.HasSuffix(arg, ".ko") && !strings.ContainsRune(arg, os.PathSeparator) {
		return arg, nil
	}
	info, err := livepatch.ReadModinfo(arg)
	if err != nil {
		return "", err
	}
	return info.Name, nil
}

// progressTo returns a progress callback that prints each line to w.
func progressTo(w io.Writer) func(string) {
	return func(line string) { fmt.Fprintf(w, "keepup: %s\n", line) }
}

func printPatches(w io.Writer, patches []livepatch.Patch) {
	if len(patches) == 0 {
		fmt.Fprintln(w, "no live patches loaded")
		return
	}
	table := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "NAME\tENABLED\tTRANSITION\tFUNCTIONS")
	for _, patch := range patches {
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\n", patch.Name, yesNo(patch.Enabled), yesNo(patch.Transition), functionList(patch))
	}
	table.Flush()
}

func printObjects(w io.Writer, patch livepatch.Patch) {
	for _, object := range patch.Objects {
		state := "patched"
		if !object.Patched {
			state = "not loaded"
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", object.Name, state, strings.Join(functionNames(object), ", "))
	}
}

// functionList returns "object:function" for each function of the patch.
func functionList(patch livepatch.Patch) string {
	var names []string
	for _, object := range patch.Objects {
		for _, function := range functionNames(object) {
			names = append(names, object.Name+":"+function)
		}
	}
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, " ")
}

func functionNames(object livepatch.Object) []string {
	names := make([]string, 0, len(object.Functions))
	for _, function := range object.Functions {
		name := function.Name
		if function.Sympos > 1 {
			name = fmt.Sprintf("%s,%d", name, function.Sympos)
		}
		names = append(names, name)
	}
	return names
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
