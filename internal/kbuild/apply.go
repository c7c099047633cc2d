package kbuild

import (
	"fmt"
	"strings"
)

// HunkError is a hunk that does not match the file it should change.
type HunkError struct {
	File string
	Hunk Hunk
}

func (e *HunkError) Error() string {
	return fmt.Sprintf("%s: hunk at line %d does not apply; the diff does not match this kernel's source:\n%s",
		e.File, e.Hunk.OldStart, strings.TrimSuffix(e.Hunk.String(), "\n"))
}

// LineMap records where a change moved each line of a file.
type LineMap struct {
	moved []int // moved[i] is the patched line of original line i+1, or 0
}

// Moved returns the line that line old of the original file has in the
// patched file. It returns false for a line the change removes or
// rewrites and for a line the file does not have.
func (m *LineMap) Moved(old int) (int, bool) {
	if m == nil || old < 1 || old > len(m.moved) || m.moved[old-1] == 0 {
		return 0, false
	}
	return m.moved[old-1], true
}

// ApplyHunks returns the text of a file after applying f's hunks to it,
// and where each of its lines went. A hunk must match exactly, but may sit
// at another line than its header gives, as patch allows, and the nearest
// match wins.
func ApplyHunks(f FileDiff, original []byte) ([]byte, *LineMap, error) {
	lines := splitLines(string(original))
	m := &LineMap{moved: make([]int, len(lines))}
	var out []string
	keep := func(i int, text string) {
		out = append(out, text)
		m.moved[i] = len(out)
	}
	next, offset := 0, 0
	for _, h := range f.Hunks {
		body := hunkBody(h)
		old := expectedLines(body)
		at, ok := findHunk(lines, old, h.OldStart-1+offset, next, h.OldLines == 0)
		if !ok {
			return nil, nil, &HunkError{File: f.Path, Hunk: h}
		}
		for i := next; i < at; i++ {
			keep(i, lines[i])
		}
		pos := at
		for _, l := range body {
			switch l.op {
			case ' ':
				keep(pos, l.text)
				pos++
			case '-':
				pos++
			case '+':
				out = append(out, l.text)
			}
		}
		next = at + len(old)
		offset = at - (h.OldStart - 1)
	}
	for i := next; i < len(lines); i++ {
		keep(i, lines[i])
	}
	return []byte(strings.Join(out, "")), m, nil
}

// splitLines splits s after each newline, keeping the newlines, so that a
// missing final newline survives the round trip.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// hunkLine is one line of a hunk's body: its ' ', '-' or '+' and its
// text, with the newline unless a "\ No newline at end of file" marker
// follows.
type hunkLine struct {
	op   byte
	text string
}

func hunkBody(h Hunk) []hunkLine {
	var body []hunkLine
	for i, l := range h.Lines {
		if l[0] == '\\' {
			continue
		}
		text := l[1:]
		if i+1 >= len(h.Lines) || h.Lines[i+1][0] != '\\' {
			text += "\n"
		}
		body = append(body, hunkLine{op: l[0], text: text})
	}
	return body
}

// expectedLines returns the lines a hunk expects in the file.
func expectedLines(body []hunkLine) []string {
	var old []string
	for _, l := range body {
		if l.op != '+' {
			old = append(old, l.text)
		}
	}
	return old
}

// findHunk returns the index nearest to want, and not before min, where
// the lines old occur in lines. The old start of a hunk without old lines
// is the line it inserts after, one less than for other hunks, so pureAdd
// corrects want.
func findHunk(lines, old []string, want, min int, pureAdd bool) (int, bool) {
	if pureAdd {
		want++
	}
	for d := 0; ; d++ {
		below, above := want-d, want+d
		if below < min && above+len(old) > len(lines) {
			return 0, false
		}
		if below >= min && below+len(old) <= len(lines) && matchAt(lines, old, below) {
			return below, true
		}
		if d > 0 && above >= min && above+len(old) <= len(lines) && matchAt(lines, old, above) {
			return above, true
		}
	}
}

func matchAt(lines, old []string, at int) bool {
	for i, l := range old {
		if lines[at+i] != l {
			return false
		}
	}
	return true
}
