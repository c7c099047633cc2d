package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Accelerators for QEMU.
const (
	AccelAuto = "auto" // try KVM with a short boot and fall back to TCG
	AccelTCG  = "tcg"  // software emulation: slower, but works wherever QEMU runs
	AccelKVM  = "kvm"  // hardware virtualization through /dev/kvm
)

// qemuRun is one QEMU process: a kernel, an initramfs and a time limit.
type qemuRun struct {
	binary    string
	image     string
	initrd    string
	accel     string // AccelTCG or AccelKVM
	memoryMiB int
	append    string            // kernel parameters after the harness's own
	timeout   time.Duration     // from start to exit
	onLine    func(line string) // called with each line of the channel port
}

// qemuOutput is the output of one QEMU process.
type qemuOutput struct {
	console string // first serial port: the kernel console
	channel string // second serial port: the guest's markers and output
	stderr  string // QEMU's own messages
	elapsed time.Duration
}

// args returns QEMU's command line. The guest has no network, no display
// and no monitor. The first serial port goes to standard output and the
// second to file descriptor 3.
func (q qemuRun) args() []string {
	args := []string{"-accel", q.accel}
	if q.accel == AccelTCG {
		args = append(args, "-cpu", "max")
	}
	args = append(args,
		"-m", strconv.Itoa(q.memoryMiB),
		"-nographic", "-no-reboot", "-nic", "none", "-monitor", "none",
		"-serial", "stdio", "-serial", "file:/dev/fd/3",
		"-kernel", q.image,
		"-initrd", q.initrd,
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 "+q.append),
	)
	return args
}

// run starts QEMU and waits until it exits, the timeout passes or ctx is
// done. On timeout or cancellation it kills QEMU and returns an error. It
// always waits for the process, so no QEMU is left behind.
func (q qemuRun) run(ctx context.Context) (*qemuOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()

	channelReader, channelWriter, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", q.binary, err)
	}
	defer channelReader.Close()

	var console, stderr lockedBuffer
	cmd := exec.CommandContext(ctx, q.binary, q.args()...)
	cmd.Stdout = &console
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{channelWriter}
	// The kernel kills QEMU if this process dies first, such as by SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err = cmd.Start()
	channelWriter.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", q.binary, err)
	}

	var channel bytes.Buffer
	var reading sync.WaitGroup
	reading.Go(func() { copyLines(&channel, channelReader, q.onLine) })
	waitErr := cmd.Wait()
	reading.Wait()

	out := &qemuOutput{console: console.String(), channel: channel.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	return out, q.exitError(ctx, waitErr, out)
}

// exitError explains why QEMU stopped, or returns nil after a clean exit.
func (q qemuRun) exitError(ctx context.Context, waitErr error, out *qemuOutput) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("guest timed out after %s and was killed: raise the timeout, or see the kernel log for a hang", q.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("guest killed: %w", ctx.Err())
	case waitErr != nil:
		return fmt.Errorf("%s failed: %w: %s", q.binary, waitErr, strings.TrimSpace(out.stderr))
	}
	return nil
}

// copyLines copies r to w and calls onLine with each complete line.
func copyLines(w io.Writer, r io.Reader, onLine func(string)) {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		fmt.Fprintln(w, line)
		if onLine != nil {
			onLine(strings.TrimRight(line, "\r"))
		}
	}
	// A read error ends the copy early: the output stays incomplete, and the
	// guest's missing end marker reports that.
	io.Copy(w, r)
}

// lockedBuffer is a bytes.Buffer that a process's output goroutine and the
// caller may use at the same time.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
