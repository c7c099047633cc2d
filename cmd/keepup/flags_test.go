package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsAfterPositional(t *testing.T) {
	fs := newFlagSet("t", "", "", io.Discard)
	check := fs.String("check", "", "")
	pos, err := parseFlags(fs, []string{"fix.ko", "--check", "./check.sh"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || pos[0] != "fix.ko" {
		t.Errorf("positional %v, want [fix.ko]", pos)
	}
	if *check != "./check.sh" {
		t.Errorf("check = %q, want ./check.sh", *check)
	}
}

func TestParseFlagsDoubleDash(t *testing.T) {
	fs := newFlagSet("t", "", "", io.Discard)
	fs.Bool("v", false, "")
	pos, err := parseFlags(fs, []string{"a", "--", "-v"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 2 || pos[1] != "-v" {
		t.Errorf("positional %v, want [a -v]", pos)
	}
}

func TestParseFlagsZeroDuration(t *testing.T) {
	fs := newFlagSet("t", "", "", io.Discard)
	fs.Duration("timeout", time.Minute, "")
	_, err := parseFlags(fs, []string{"--timeout", "0"})
	if err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("error = %v, want a positive time limit", err)
	}
}

func TestParseFlagsDurationWithoutUnit(t *testing.T) {
	fs := newFlagSet("t", "", "", io.Discard)
	fs.Duration("timeout", time.Minute, "")
	_, err := parseFlags(fs, []string{"--timeout", "5"})
	if err == nil || !strings.Contains(err.Error(), "need a unit") {
		t.Errorf("error = %v, want a hint about the unit", err)
	}
}
