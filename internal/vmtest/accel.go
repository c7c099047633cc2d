package vmtest

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// trialTimeout limits the trial boot with KVM. Where KVM is broken the
// guest hangs, so the trial ends at this limit.
// NOTE: a working KVM guest is expected to finish the trial in a few
// seconds (an estimate: no machine here runs KVM guests), and one slower
// than this limit falls back to TCG.
const trialTimeout = 8 * time.Second

// kvmVerdict caches the result of the KVM trial boot for the life of the
// process.
var kvmVerdict struct {
	mu      sync.Mutex
	decided bool
	works   bool
}

// resolveAccel returns the accelerator to boot with. For AccelAuto it
// boots the kernel once with KVM and uses TCG if that boot does not run a
// trivial script, because /dev/kvm can open and still hang guests.
func resolveAccel(ctx context.Context, accel, qemu, image, busybox string, progress func(string, ...any)) (string, error) {
	switch accel {
	case AccelTCG, AccelKVM:
		return accel, nil
	case AccelAuto:
	default:
		return "", fmt.Errorf("invalid accelerator %q: expected %s, %s or %s", accel, AccelAuto, AccelTCG, AccelKVM)
	}

	kvmVerdict.mu.Lock()
	defer kvmVerdict.mu.Unlock()
	if !kvmVerdict.decided {
		progress("checking whether KVM works with a trial boot (at most %s)", trialTimeout)
		kvmVerdict.works = trialBootKVM(ctx, qemu, image, busybox)
		kvmVerdict.decided = ctx.Err() == nil
	}
	if kvmVerdict.works {
		progress("KVM works: using kvm")
		return AccelKVM, nil
	}
	progress("KVM does not boot this kernel here (the trial boot did not reach user space): using tcg; pass --accel tcg to skip the trial")
	return AccelTCG, nil
}

// trialBootKVM reports whether the kernel boots with KVM and runs a step.
func trialBootKVM(ctx context.Context, qemu, image, busybox string) bool {
	cfg := BootConfig{Image: image, Script: stepLine("trial", "true"), Timeout: trialTimeout, Loader: LoaderImage}.withDefaults()
	result, err := boot(ctx, cfg, qemu, busybox, AccelKVM)
	if err != nil {
		return false
	}
	step, ok := result.Step("trial")
	return ok && step.Finished && step.Status == 0
}
