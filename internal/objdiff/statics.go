package objdiff

import (
	"debug/elf"
	"strings"

	"github.com/keepup/keepup/internal/elfobj"
)

// perSiteStatics are the static locals that kernel macros define once per
// use: lockdep class keys (__key), ratelimit states (_rs), WARN_ONCE and
// printk_once flags, __func__, switch tables (CSWTCH) and printk index
// entries (_entry). Code depends on their contents, not on which copy it
// uses, so a patch may carry a fresh copy of one that it cannot match with
// the running kernel's. A fresh copy only restarts a ratelimit, repeats a
// once-only warning or adds a lockdep class.
var perSiteStatics = map[string]bool{
	"__key":          true,
	"_rs":            true,
	"__warned":       true,
	"__already_done": true,
	"__print_once":   true,
	"__func__":       true,
	"__FUNCTION__":   true,
	"CSWTCH":         true,
	"_entry":         true,
}

// isPerSiteStatic reports whether y is a static local of a kernel macro,
// named as gcc names it ("__key.12") or as clang does, after the function
// ("init_srcu_struct_fields.__key.12").
func isPerSiteStatic(y *elfobj.Symbol) bool {
	if y.Bind != elf.STB_LOCAL || y.Type != elf.STT_OBJECT {
		return false
	}
	return perSiteStatics[staticBaseName(y.Name)]
}

// staticBaseName returns a static local's name without the compiler's
// number and without the function name clang puts in front of it.
func staticBaseName(name string) string {
	if m := numberedLocal.FindStringSubmatch(name); m != nil {
		name = m[1]
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}
