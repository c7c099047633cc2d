package vmtest

import (
	"fmt"
	"strings"
)

// Paths inside the guest.
const (
	guestInit    = "/init"
	guestScript  = "/keepup-vmtest/script.sh"
	guestStepOut = "/tmp/keepup-vmtest-step.out"
	guestChannel = "/dev/ttyS1" // second serial port, which carries markers and step output
	markerPrefix = "@@keepup-vmtest"
)

// Steps that every boot records around the caller's script.
const (
	StepBootIDStart = "boot-id-start"
	StepUptimeStart = "uptime-start"
	StepUptimeEnd   = "uptime-end"
	StepBootIDEnd   = "boot-id-end"
	StepDmesg       = "dmesg"
)

// initScript returns the guest's /init: it mounts the pseudo file
// systems, sends everything it prints to the channel port, records the
// start steps, runs the caller's script, records the end steps and the
// kernel log, and powers off. The nonce makes its markers differ from any
// text that a step prints.
func initScript(nonce string) string {
	marker := markerPrefix + " " + nonce
	lines := []string{
		"#!/bin/sh",
		"# keepup vmtest guest init",
		"export PATH=/bin:/sbin:/usr/bin:/usr/sbin",
		"mount -t proc proc /proc",
		"mount -t sysfs sysfs /sys",
		"mount -t devtmpfs devtmpfs /dev",
		"mount -t tmpfs tmpfs /tmp",
		"stty -F " + guestChannel + " 115200 raw -echo",
		"exec >" + guestChannel + " 2>&1 </dev/null",
		"MARKER='" + marker + "'",
		"",
		"# step NAME COMMAND [ARG...] runs the command and prints its output",
		"# between begin and end markers, with its exit status on the end line.",
		"step() {",
		"	step_name=$1",
		"	shift",
		`	echo "$MARKER begin $step_name"`,
		`	"$@" >` + guestStepOut + " 2>&1",
		"	step_status=$?",
		"	cat " + guestStepOut,
		"	echo",
		`	echo "$MARKER end $step_name $step_status"`,
		"	return $step_status",
		"}",
		"",
		"step " + StepBootIDStart + " cat /proc/sys/kernel/random/boot_id",
		"step " + StepUptimeStart + " cat /proc/uptime",
		". " + guestScript,
		"step " + StepUptimeEnd + " cat /proc/uptime",
		"step " + StepBootIDEnd + " cat /proc/sys/kernel/random/boot_id",
		"step " + StepDmesg + " dmesg",
		`echo "$MARKER done"`,
		"poweroff -f",
		"",
	}
	return strings.Join(lines, "\n")
}

// validStepName reports whether name can be a step name: it is printed in
// marker lines, so it must be one word.
func validStepName(name string) bool {
	return name != "" && !strings.ContainsAny(name, " \t\r\n'\"$`\\")
}

// shellQuote quotes s for the guest shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stepLine returns a script line that runs argv as step name.
func stepLine(name string, argv ...string) string {
	quoted := make([]string, len(argv))
	for i, arg := range argv {
		quoted[i] = shellQuote(arg)
	}
	return fmt.Sprintf("step %s %s", name, strings.Join(quoted, " "))
}
