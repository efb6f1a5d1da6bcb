package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Binary is the emulator for x86_64 guests.
const Binary = "qemu-system-x86_64"

// Process is a running QEMU. It dies with its context, with Kill, and with
// the Go process that started it (PDEATHSIG), so no VM outlives its owner.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type startOptions struct {
	lowPriority bool
	slot        bool
	slotCtx     context.Context
	logf        func(format string, args ...any)
}

// StartOption configures Start.
type StartOption func(*startOptions)

// WithoutSlot starts QEMU without taking a VM slot. Only for a VM that
// others wait for while holding slots (the shared test image's installer):
// a slot wait there could deadlock.
func WithoutSlot() StartOption { return func(o *startOptions) { o.slot = false } }

// WithSlotContext bounds the wait for a VM slot by ctx instead of Start's
// own context: a test gives its whole deadline to the wait, which may last
// as long as other packages' VMs run, and a short one to the boot.
func WithSlotContext(ctx context.Context) StartOption {
	return func(o *startOptions) { o.slotCtx = ctx }
}

// WithLowPriority starts QEMU at the lowest CPU priority (nice 19) and in
// the idle I/O class, every thread it will make included: a VM booted
// ahead must not slow the VMs that run tests. SetPriority raises it later.
func WithLowPriority() StartOption { return func(o *startOptions) { o.lowPriority = true } }

// WithLogf receives progress lines, e.g. how long Start waited for a slot.
func WithLogf(logf func(format string, args ...any)) StartOption {
	return func(o *startOptions) { o.logf = logf }
}

// Start starts m once a VM slot is free (see AcquireSlot). QEMU's own
// stdout and stderr go to out. The slot is released when QEMU exits.
func Start(ctx context.Context, m Machine, out io.Writer, opts ...StartOption) (*Process, error) {
	o := startOptions{slot: true, logf: func(string, ...any) {}}
	for _, opt := range opts {
		opt(&o)
	}
	args, err := m.Args()
	if err != nil {
		return nil, err
	}
	release := func() {}
	if o.slot {
		slotCtx := o.slotCtx
		if slotCtx == nil {
			slotCtx = ctx
		}
		if release, err = AcquireSlot(slotCtx, o.logf); err != nil {
			return nil, err
		}
	}
	bin := Binary
	if o.lowPriority {
		// nice and ionice exec QEMU: same process, so PDEATHSIG and the
		// process group below hold for QEMU itself.
		args = append([]string{"-c", "3", "nice", "-n", "19", Binary}, args...)
		bin = "ionice"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		release()
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("start %s: not found: install it with apt-get install -y qemu-system-x86 qemu-system-data qemu-utils", Binary)
		}
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		release()
		close(p.done)
	}()
	return p, nil
}

// CommandLine is the full command, for logs and repro.
func (p *Process) CommandLine() string { return strings.Join(p.cmd.Args, " ") }

// Pid is QEMU's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when QEMU has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for QEMU to exit on its own (e.g. the guest powered off).
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.ExitErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ExitErr is how QEMU exited: nil for status 0. Only meaningful after Done.
func (p *Process) ExitErr() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.Exited() && ee.ExitCode() == 0 {
		return nil
	}
	return p.err
}

// Kill stops QEMU at once and waits for it to be gone. Safe to call twice
// and after QEMU exited.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Kill)
	<-p.done
}
