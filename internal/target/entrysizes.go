package target

// SpecialEntrySizes returns the entry sizes in bytes of the kernel's
// special sections whose entries are structures, keyed by section name,
// as the object differ needs them.
func (k *Kernel) SpecialEntrySizes() map[string]int {
	// TODO: read these from the kernel's own debug information instead of
	// this table, which was measured (pahole) on Debian's 6.1 x86-64 build.
	return map[string]int{
		"__bug_table":        12, // struct bug_entry
		"__ex_table":         12, // struct exception_table_entry
		".altinstructions":   12, // struct alt_instr
		"__jump_table":       16, // struct jump_entry
		".orc_unwind":        6,  // struct orc_entry
		".static_call_sites": 8,  // struct static_call_site
		".parainstructions":  16, // struct paravirt_patch_site
	}
}
