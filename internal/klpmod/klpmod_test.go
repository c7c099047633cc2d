package klpmod

import (
	"strings"
	"testing"
)

func TestKlpName(t *testing.T) {
	if got, want := klpName("file_systems", 0), ".klp.sym.vmlinux.file_systems,0"; got != want {
		t.Errorf("klpName = %q, want %q", got, want)
	}
	if got, want := klpName("blanks.39032", 2), ".klp.sym.vmlinux.blanks.39032,2"; got != want {
		t.Errorf("klpName = %q, want %q", got, want)
	}
}

func TestRegistrationSource(t *testing.T) {
	preps := []*prepared{
		{funcs: []klpFunc{{oldName: "cmdline_proc_show", sympos: 0, alias: "__keepup_new_0_0"}}, namespaces: []string{"CRYPTO_INTERNAL"}},
		{funcs: []klpFunc{{oldName: "type_show", sympos: 3, alias: "__keepup_new_1_0"}}},
	}
	src := registrationSource("livepatch-fix", preps)
	for _, want := range []string{
		"extern char __keepup_new_0_0[];",
		`{ .old_name = "cmdline_proc_show", .new_func = __keepup_new_0_0, .old_sympos = 0 },`,
		`{ .old_name = "type_show", .new_func = __keepup_new_1_0, .old_sympos = 3 },`,
		"klp_enable_patch(&keepup_patch)",
		`MODULE_INFO(livepatch, "Y");`,
		"MODULE_IMPORT_NS(CRYPTO_INTERNAL);",
		"module_exit(keepup_patch_exit);",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("registration source lacks %q:\n%s", want, src)
		}
	}
}

func TestValidModuleName(t *testing.T) {
	for name, want := range map[string]bool{
		"livepatch-fix":         true,
		"livepatch_fix_2":       true,
		"":                      false,
		"bad/name":              false,
		strings.Repeat("a", 56): false,
	} {
		if got := validName.MatchString(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}
