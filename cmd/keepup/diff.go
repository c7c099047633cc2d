package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
	"github.com/keepup/keepup/internal/objdiff"
)

func init() {
	register(command{name: "diff", summary: "compare two builds of one object file and report what a live patch must replace", run: runDiff})
}

// entrySizeFlag collects repeated --entry-size SECTION=BYTES options.
type entrySizeFlag map[string]int

func (f entrySizeFlag) String() string { return "" }

func (f entrySizeFlag) Set(v string) error {
	name, bytes, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return errors.New("want SECTION=BYTES, such as __jump_table=16")
	}
	known := objdiff.SpecialSections()
	if !slices.Contains(known, name) {
		return fmt.Errorf("%q is not a special section; the special sections are %s", name, strings.Join(known, ", "))
	}
	n, err := strconv.Atoi(bytes)
	if err != nil || n < 1 || n > objdiff.MaxEntrySize {
		return fmt.Errorf("BYTES must be an integer from 1 to %d", objdiff.MaxEntrySize)
	}
	if _, seen := f[name]; seen {
		return fmt.Errorf("the size of %s is given twice", name)
	}
	f[name] = n
	return nil
}

// diffReport is the --json output of keepup diff.
type diffReport struct {
	Object     string          `json:"object"`
	Verdict    objdiff.Verdict `json:"verdict"`
	Functions  []diffFunction  `json:"functions"`
	Rejections []diffRejection `json:"rejections,omitempty"`
	Ignored    []diffRejection `json:"ignored,omitempty"`
}

type diffFunction struct {
	Name string       `json:"name"`
	Kind objdiff.Kind `json:"kind"`
}

type diffRejection struct {
	Symbol string `json:"symbol"`
	Reason string `json:"reason"`
}

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sizes := entrySizeFlag{}
	var asJSON bool
	fs := newFlagSet("diff", "[options] ORIG.o PATCHED.o",
		"Compare two builds of one kernel object, before and after a change, and print one line\n"+
			"per changed, new, ignored or rejected function: OBJECT: VERDICT: SYMBOL[: REASON].\n"+
			"Without the source change, diff cannot tell a changed constant from a moved __LINE__\n"+
			"where a function passes an immediate to printk, __warn_printk or might_sleep as their\n"+
			"line argument: it takes the change for a moved line and reports the function as ignored.\n"+
			"keepup build checks each such immediate against the lines its diff moves.\n"+
			"Exit status: 0 changed, 3 no functional change, 2 rejected, 1 other error.", stdout)
	fs.BoolVar(&asJSON, "json", false, "print a JSON object with verdict and functions instead of report lines")
	fs.Var(sizes, "entry-size", "entry size in bytes of a special section, as SECTION=BYTES (repeatable). Objects\n"+
		"built outside keepup build need it for each special section whose header records no size,\n"+
		"such as __jump_table=16 for Linux 6.1; a size given here overrides the header's")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.printUsage(stderr)
		return withExitCode(exitError, errors.New("diff needs two object files"))
	}
	res, err := diffFiles(pos[0], pos[1], sizes)
	if err != nil {
		return err
	}
	if err := printDiff(stdout, res, asJSON); err != nil {
		return err
	}
	return verdictStatus(res.Verdict)
}

func diffFiles(origPath, patchedPath string, sizes map[string]int) (*objdiff.Result, error) {
	orig, err := elfobj.Open(origPath)
	if err != nil {
		return nil, err
	}
	patched, err := elfobj.Open(patchedPath)
	if err != nil {
		return nil, err
	}
	return objdiff.Diff(orig, patched, objdiff.Options{Object: patchedPath, EntrySizes: sizes})
}

func printDiff(w io.Writer, res *objdiff.Result, asJSON bool) error {
	if !asJSON {
		for _, line := range res.Lines() {
			fmt.Fprintln(w, line)
		}
		return nil
	}
	report := diffReport{Object: res.Object, Verdict: res.Verdict, Functions: []diffFunction{}}
	for _, f := range res.Functions {
		report.Functions = append(report.Functions, diffFunction{Name: f.Name, Kind: f.Kind})
	}
	for _, r := range res.Rejections {
		report.Rejections = append(report.Rejections, diffRejection{Symbol: r.Symbol, Reason: r.Reason})
	}
	for _, ign := range res.Ignored {
		report.Ignored = append(report.Ignored, diffRejection{Symbol: ign.Symbol, Reason: ign.Reason})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// verdictStatus maps a verdict to the exit status without another message.
func verdictStatus(v objdiff.Verdict) error {
	switch v {
	case objdiff.Rejected:
		return &exitCodeError{code: exitRejected}
	case objdiff.NoChange:
		return &exitCodeError{code: exitNoChange}
	}
	return nil
}
