package kbuild

import (
	"slices"
	"testing"

	"github.com/keepup/keepup/internal/target"
)

func TestMakeVarsAddsObjectCFLAGS(t *testing.T) {
	k := &target.Kernel{MakeVars: []string{"CC=gcc-12"}}
	got := makeVars(k)
	if want := []string{"CC=gcc-12", "KCFLAGS=" + target.ObjectCFLAGS}; !slices.Equal(got, want) {
		t.Errorf("makeVars = %q, want %q", got, want)
	}
	if len(k.MakeVars) != 1 {
		t.Errorf("makeVars changed the kernel's MakeVars to %q", k.MakeVars)
	}
	k.MakeVars = []string{"CC=gcc-12", "KCFLAGS=-O1"}
	if got := makeVars(k); !slices.Equal(got, k.MakeVars) {
		t.Errorf("makeVars = %q, want the kernel's own KCFLAGS kept", got)
	}
}
