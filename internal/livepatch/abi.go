package livepatch

import "golang.org/x/sys/unix"

// Kernel interfaces of the livepatch core, as Linux 6.1 defines them.
const (
	sysfsLivepatchDir = "kernel/livepatch" // under /sys: one directory per loaded live patch
	sysfsModuleDir    = "module"           // under /sys: one directory per loaded module

	attrEnabled    = "enabled"    // patch attribute: 1 while applied, and writing 0 disables the patch
	attrTransition = "transition" // patch attribute: 1 while tasks still converge to the target state
	attrPatched    = "patched"    // object attribute: 1 once the object's functions are redirected
	attrTaint      = "taint"      // /sys/module/NAME attribute: the module's taint flags
	taintLivepatch = 'K'          // taint flag of a module that declares livepatch=Y

	procPatchState = "patch_state" // /proc/PID/task/TID attribute: the task's patch state

	patchStateUndefined = -1 // patch_state of every task while no transition is in progress
	patchStateUnpatched = 0  // patch_state of a task that still runs the old code
	patchStatePatched   = 1  // patch_state of a task that runs the new code

	finitModuleFlags  = 0               // finit_module flags: keep the kernel's vermagic and modversions checks
	deleteModuleFlags = unix.O_NONBLOCK // delete_module flags: fail with EWOULDBLOCK while the module is in use
)

// modinfoSection is the ELF section that carries a module's key=value pairs.
const modinfoSection = ".modinfo"
