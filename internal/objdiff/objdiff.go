// Package objdiff compares two builds of one kernel source file, before and
// after a fix, decides which functions a live patch must replace or add,
// and extracts them with everything they need into a patch object.
//
// A function counts as changed when its code or what its relocations refer
// to differs, except for differences taken to leave its behaviour alone:
// line numbers passed to WARN, printk and might_sleep sites (checked
// against Options.MovedLine when the source change is known, see
// isLineNumberOnlyChange), the source locations in UBSAN data, and
// where it jumps into .altinstr_aux. Changes
// confined to __init code are rejected, and __init changes beside other
// changes are left out and reported as ignored.
//
// References from the patch object to code and data it does not carry are
// left as undefined symbols named as in the original object: a global stays
// global, and a static symbol stays local, so the module emitter can
// resolve it to the running kernel's own copy.
package objdiff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// Verdict is the outcome of a diff.
type Verdict string

// The three verdicts.
const (
	Changed  Verdict = "changed"   // a live patch can be built
	NoChange Verdict = "no-change" // the change has no effect on the code
	Rejected Verdict = "rejected"  // the change cannot be live patched safely
)

// Kind is the reason a function is in the patch.
type Kind string

// Function kinds.
const (
	KindChanged Kind = "changed" // replaces a function of the running kernel
	KindNew     Kind = "new"     // exists only in the patched build
)

// Function is one function the patch replaces or adds.
type Function struct {
	Name   string         // name in the original object for a changed function
	Kind   Kind           // changed or new
	Symbol *elfobj.Symbol // the function's symbol in Result.Patch
}

// Rejection is one reason the change cannot be live patched.
type Rejection struct {
	Symbol string
	Reason string
}

// Ignored is a changed function that the patch leaves out on purpose.
type Ignored struct {
	Symbol string
	Reason string
}

// Result is the outcome of comparing one object pair.
type Result struct {
	Object     string // name of the object, for report lines
	Verdict    Verdict
	Functions  []Function   // sorted by name
	Rejections []Rejection  // sorted by symbol
	Ignored    []Ignored    // sorted by symbol
	Patch      *elfobj.File // the patch object; nil unless Verdict is Changed
}

// Options tune a diff.
type Options struct {
	// Object names the pair in report lines, such as "fs/proc/cmdline.o".
	Object string
	// EntrySizes gives the entry size in bytes of special sections whose
	// headers do not record one, keyed by section name.
	EntrySizes map[string]int
	// MovedLine, when set, returns the line of the patched source that
	// an unchanged line of the original source moved to, and false for a
	// line the change removes or rewrites. With it, a changed immediate
	// passed to a line-taking function such as printk counts as a line
	// number only where the original value is a line that moved to the
	// patched value. Without it any such immediate counts as one.
	MovedLine func(orig int) (patched int, ok bool)
}

// Diff compares orig and patched, two builds of one source file.
func Diff(orig, patched *elfobj.File, opts Options) (*Result, error) {
	d, err := newDiffer(orig, patched, opts)
	if err != nil {
		return nil, err
	}
	return d.run()
}

// Lines returns the report, one line per changed, new, ignored or
// rejected function, in the form "OBJECT: VERDICT: SYMBOL[: REASON]".
func (r *Result) Lines() []string {
	var lines []string
	for _, f := range r.Functions {
		lines = append(lines, fmt.Sprintf("%s: %s: %s", r.Object, f.Kind, f.Name))
	}
	for _, ign := range r.Ignored {
		lines = append(lines, fmt.Sprintf("%s: ignored: %s: %s", r.Object, ign.Symbol, ign.Reason))
	}
	for _, rej := range r.Rejections {
		lines = append(lines, fmt.Sprintf("%s: rejected: %s: %s", r.Object, rej.Symbol, rej.Reason))
	}
	if len(r.Functions) == 0 && len(r.Rejections) == 0 && r.Verdict == NoChange {
		lines = append(lines, fmt.Sprintf("%s: no-change", r.Object))
	}
	return lines
}

// Error summarizes the rejections of a rejected result.
func (r *Result) Error() string {
	var reasons []string
	for _, rej := range r.Rejections {
		reasons = append(reasons, rej.Symbol+": "+rej.Reason)
	}
	return fmt.Sprintf("%s: change rejected: %s", r.Object, strings.Join(reasons, "; "))
}

func (r *Result) sort() {
	sort.Slice(r.Functions, func(i, j int) bool { return r.Functions[i].Name < r.Functions[j].Name })
	sort.Slice(r.Rejections, func(i, j int) bool { return r.Rejections[i].Symbol < r.Rejections[j].Symbol })
	sort.Slice(r.Ignored, func(i, j int) bool { return r.Ignored[i].Symbol < r.Ignored[j].Symbol })
}
