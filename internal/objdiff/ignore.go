package objdiff

import (
	"debug/elf"

	"github.com/keepup/keepup/internal/elfobj"
)

// ignoreFunctionsSection lists, as one pointer each, functions whose
// changes the patch author wants left out of the patch. kpatch's
// KPATCH_IGNORE_FUNCTION() macro fills it.
const ignoreFunctionsSection = ".kpatch.ignore.functions"

// markedFunctions returns the functions that o's ignore section points
// to.
func markedFunctions(o *object) map[*elfobj.Symbol]bool {
	marked := map[*elfobj.Symbol]bool{}
	s := o.f.Section(ignoreFunctionsSection)
	if s == nil || o.relocs[s] == nil {
		return marked
	}
	for _, rel := range o.relocs[s].Relocs {
		if target, _ := o.resolve(rel); target != nil && target.Type == elf.STT_FUNC {
			marked[target] = true
		}
	}
	return marked
}
