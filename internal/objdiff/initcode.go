package objdiff

// settleInitChanges decides what becomes of changed and new __init
// functions. Init code has run and been freed by the time a patch loads,
// so no form of it can run again:
//
//   - When the object's only changes are to __init code, the patch would
//     change nothing in the running kernel, so the change is rejected.
//   - When other functions change too, the __init changes are left out of
//     the patch and reported as ignored. They are usually a side effect,
//     as a changed function inlined into init code, but a deliberate one,
//     such as new setup that the new code relies on, is not applied
//     either. The report line warns the patch author.
func (d *differ) settleInitChanges() {
	if len(d.initDiffs) == 0 {
		return
	}
	if d.hasRuntimeChanges() {
		for fn := range d.initDiffs {
			d.ignored = append(d.ignored, Ignored{Symbol: fn.Name, Reason: "change to __init code, which has already run; left out of the patch"})
		}
		return
	}
	for fn := range d.initDiffs {
		d.reject(fn.Name, "change to __init code, which has run and been freed; it cannot be live patched")
	}
}

// hasRuntimeChanges reports whether the patch replaces or adds a function
// outside init code.
func (d *differ) hasRuntimeChanges() bool {
	for fn := range d.changed {
		if !d.untraced[fn] {
			return true
		}
	}
	return len(d.added) > 0
}
