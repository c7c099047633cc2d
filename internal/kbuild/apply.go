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

// ApplyHunks returns the text of a file after applying f's hunks to it.
// A hunk must match exactly, but may sit at another line than its header
// says, as patch allows; the nearest match wins.
func ApplyHunks(f FileDiff, original []byte) ([]byte, error) {
	lines := splitLines(string(original))
	var out []string
	next, offset := 0, 0
	for _, h := range f.Hunks {
		old, replacement := hunkSides(h)
		at, ok := findHunk(lines, old, h.OldStart-1+offset, next, h.OldLines == 0)
		if !ok {
			return nil, &HunkError{File: f.Path, Hunk: h}
		}
		out = append(out, lines[next:at]...)
		out = append(out, replacement...)
		next = at + len(old)
		offset = at - (h.OldStart - 1)
	}
	out = append(out, lines[next:]...)
	return []byte(strings.Join(out, "")), nil
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

// hunkSides returns the lines a hunk expects and the lines it writes, each
// with its newline unless a "\ No newline at end of file" marker follows.
func hunkSides(h Hunk) (old, replacement []string) {
	for i, l := range h.Lines {
		if l[0] == '\\' {
			continue
		}
		text := l[1:]
		if i+1 >= len(h.Lines) || h.Lines[i+1][0] != '\\' {
			text += "\n"
		}
		if l[0] != '+' {
			old = append(old, text)
		}
		if l[0] != '-' {
			replacement = append(replacement, text)
		}
	}
	return old, replacement
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
