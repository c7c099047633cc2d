// Package kbuild compiles the kernel source files a diff touches, before
// and after the change, with the target kernel's own flags.
package kbuild

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Diff is a parsed unified diff.
type Diff struct {
	Files []FileDiff
}

// FileDiff is the change to one file.
type FileDiff struct {
	OldName string // name on the "---" line, without any date
	NewName string // name on the "+++" line, without any date
	Path    string // path in the kernel tree, one leading component stripped as by patch -p1
	Hunks   []Hunk
}

// Hunk is one "@@" section of a file's change.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Section            string   // text after the closing "@@", often the enclosing function
	Lines              []string // body lines with their ' ', '-', '+' or '\' prefix
}

// Paths returns the kernel tree paths of the changed files.
func (d *Diff) Paths() []string {
	paths := make([]string, len(d.Files))
	for i, f := range d.Files {
		paths[i] = f.Path
	}
	return paths
}

// WithoutDocumentation returns d without its changes to documentation,
// which does not reach the kernel's code, and the paths it left out:
// files under Documentation/ and text files such as .rst, .txt and .md.
func (d *Diff) WithoutDocumentation() (*Diff, []string) {
	kept := &Diff{}
	var docs []string
	for _, f := range d.Files {
		if isDocumentation(f.Path) {
			docs = append(docs, f.Path)
			continue
		}
		kept.Files = append(kept.Files, f)
	}
	return kept, docs
}

func isDocumentation(path string) bool {
	if strings.HasPrefix(path, "Documentation/") {
		return true
	}
	for _, ext := range []string{".rst", ".txt", ".md"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}

// String formats the hunk as it appears in a diff.
func (h Hunk) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@%s\n", h.OldStart, h.OldLines, h.NewStart, h.NewLines, h.Section)
	for _, l := range h.Lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseDiff parses a unified diff as written by git diff, git format-patch
// or diff -u. Text outside file sections, such as a commit message, is
// ignored.
func ParseDiff(data []byte) (*Diff, error) {
	p := &diffParser{sc: bufio.NewScanner(bytes.NewReader(data))}
	p.sc.Buffer(nil, 16<<20)
	d := &Diff{}
	for p.next() {
		if !strings.HasPrefix(p.line, "--- ") {
			if err := p.checkGitHeader(); err != nil {
				return nil, err
			}
			continue
		}
		f, ok, err := p.parseFile()
		if err != nil {
			return nil, err
		}
		if ok {
			d.Files = append(d.Files, f)
		}
	}
	if err := p.sc.Err(); err != nil {
		return nil, fmt.Errorf("read diff: %w", err)
	}
	if len(d.Files) == 0 {
		return nil, fmt.Errorf("parse diff: no file changes found; expected a unified diff (git diff or diff -u)")
	}
	return d, nil
}

type diffParser struct {
	sc     *bufio.Scanner
	line   string
	lineNo int
	peeked bool
}

func (p *diffParser) next() bool {
	if p.peeked {
		p.peeked = false
		return true
	}
	if !p.sc.Scan() {
		return false
	}
	p.line = strings.TrimSuffix(p.sc.Text(), "\r")
	p.lineNo++
	return true
}

// unread makes the next call of next return the current line again.
func (p *diffParser) unread() { p.peeked = true }

func (p *diffParser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse diff: line %d: %s", p.lineNo, fmt.Sprintf(format, args...))
}

// checkGitHeader rejects git extended headers for changes that a text
// diff cannot express, which would otherwise be skipped silently.
func (p *diffParser) checkGitHeader() error {
	for _, prefix := range []string{"Binary files ", "GIT binary patch", "rename from ", "copy from ", "old mode ", "new mode "} {
		if strings.HasPrefix(p.line, prefix) {
			return &UnsupportedError{Reason: fmt.Sprintf("diff line %d: %q: renames, copies, mode changes and binary changes are not supported", p.lineNo, p.line)}
		}
	}
	return nil
}

// parseFile parses one file's change starting at its "---" line. It
// returns false, and leaves the line after the "---" line unread, if no
// "+++" line follows, because then the "---" line is plain text.
func (p *diffParser) parseFile() (FileDiff, bool, error) {
	var f FileDiff
	f.OldName = fileName(strings.TrimPrefix(p.line, "--- "))
	if !p.next() {
		return f, false, nil
	}
	if !strings.HasPrefix(p.line, "+++ ") {
		p.unread()
		return f, false, nil
	}
	f.NewName = fileName(strings.TrimPrefix(p.line, "+++ "))
	f.Path = treePath(f.OldName, f.NewName)
	for p.next() {
		if !strings.HasPrefix(p.line, "@@ ") {
			p.unread()
			break
		}
		h, err := p.parseHunk()
		if err != nil {
			return f, false, fmt.Errorf("%s: %w", f.Path, err)
		}
		f.Hunks = append(f.Hunks, h)
	}
	if len(f.Hunks) == 0 {
		return f, false, p.errorf("%s: no hunks", f.Path)
	}
	return f, true, nil
}

// fileName drops the tab-separated date that diff -u writes after a name.
func fileName(s string) string {
	name, _, _ := strings.Cut(s, "\t")
	return strings.TrimSpace(name)
}

// treePath strips the first component of the name, as patch -p1 does, and
// prefers the new name unless the file is deleted.
func treePath(oldName, newName string) string {
	name := newName
	if name == "/dev/null" {
		name = oldName
	}
	if _, rest, ok := strings.Cut(name, "/"); ok {
		return rest
	}
	return name
}

func (p *diffParser) parseHunk() (Hunk, error) {
	h, err := parseHunkHeader(p.line)
	if err != nil {
		return h, p.errorf("%v", err)
	}
	oldLeft, newLeft := h.OldLines, h.NewLines
	for oldLeft > 0 || newLeft > 0 {
		if !p.next() {
			return h, p.errorf("hunk %q ends early", h.header())
		}
		line := p.line
		if line == "" {
			line = " " // some mailers strip the space of an empty context line
		}
		switch line[0] {
		case ' ':
			oldLeft--
			newLeft--
		case '-':
			oldLeft--
		case '+':
			newLeft--
		case '\\':
		default:
			return h, p.errorf("unexpected line %q in hunk %q", line, h.header())
		}
		if oldLeft < 0 || newLeft < 0 {
			return h, p.errorf("hunk %q has more lines than its header counts", h.header())
		}
		h.Lines = append(h.Lines, line)
	}
	if p.next() {
		if strings.HasPrefix(p.line, `\`) {
			h.Lines = append(h.Lines, p.line)
		} else {
			p.unread()
		}
	}
	return h, nil
}

func (h Hunk) header() string {
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@", h.OldStart, h.OldLines, h.NewStart, h.NewLines)
}

// parseHunkHeader parses "@@ -l,s +l,s @@ section"; a missing count is 1.
func parseHunkHeader(line string) (Hunk, error) {
	var h Hunk
	rest, ok := strings.CutPrefix(line, "@@ -")
	if !ok {
		return h, fmt.Errorf("invalid hunk header %q", line)
	}
	ranges, section, ok := strings.Cut(rest, " @@")
	if !ok {
		return h, fmt.Errorf("invalid hunk header %q", line)
	}
	oldRange, newRange, ok := strings.Cut(ranges, " +")
	if !ok {
		return h, fmt.Errorf("invalid hunk header %q", line)
	}
	var err1, err2 error
	h.OldStart, h.OldLines, err1 = parseRange(oldRange)
	h.NewStart, h.NewLines, err2 = parseRange(newRange)
	if err1 != nil || err2 != nil {
		return h, fmt.Errorf("invalid hunk header %q", line)
	}
	h.Section = section
	return h, nil
}

func parseRange(s string) (start, count int, err error) {
	startText, countText, hasCount := strings.Cut(s, ",")
	if start, err = strconv.Atoi(startText); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("invalid range %q", s)
	}
	if !hasCount {
		return start, 1, nil
	}
	if count, err = strconv.Atoi(countText); err != nil || count < 0 {
		return 0, 0, fmt.Errorf("invalid range %q", s)
	}
	return start, count, nil
}
