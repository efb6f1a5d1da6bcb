package controlplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crashrig/crashrig/serverkind"
)

// Why a hard reset failed; a ResetError wraps one of them.
var (
	// ErrVMNotBack: no agent of a new boot came back (QEMU exited, the VM
	// was killed, or none connected before the context ended). The reset
	// itself failed: an infrastructure problem, not a finding.
	ErrVMNotBack = errors.New("VM did not come back")
	// ErrServerNotRecovered: the VM booted again and its agent is back,
	// but the server is not: it exited, the agent could not bring it back,
	// or it never answered.
	ErrServerNotRecovered = errors.New("server did not recover")
)

// ResetError is a failed hard reset. errors.Is matches its Reason
// (ErrVMNotBack or ErrServerNotRecovered) and whatever Err wraps (e.g.
// context.DeadlineExceeded); Result holds the timeline up to the failure.
type ResetError struct {
	VM     string
	Reason error
	Err    error
	Result ResetResult
	// Op names the crash: "hard reset" (empty) or "power cut".
	Op string
}

func (e *ResetError) Error() string {
	op := e.Op
	if op == "" {
		op = "hard reset"
	}
	return fmt.Sprintf("VM %s: %s: %v: %v", e.VM, op, e.Reason, e.Err)
}

func (e *ResetError) Unwrap() []error { return []error{e.Reason, e.Err} }

// ResetTimeline times one hard reset. Durations are since Sent; zero means
// the step was not reached (or does not apply: no server provisioned).
type ResetTimeline struct {
	// Sent is when QMP system_reset was sent.
	Sent time.Time
	// Acked: QMP acknowledged the reset; the old boot is gone.
	Acked time.Duration
	// AgentBack: the first hello of the new boot's agent.
	AgentBack time.Duration
	// ServerReady: the agent reported the server ready in the new boot.
	ServerReady time.Duration
	// Answered: the server answered a query from the host.
	Answered time.Duration
}

// ResetResult is what a hard reset did.
type ResetResult struct {
	Timeline ResetTimeline
	// BootID is the new boot's.
	BootID string
	// ServerRecovery is the server's own crash-recovery time as its log
	// says; RecoveryReported is false when the server does not say.
	ServerRecovery   time.Duration
	RecoveryReported bool
	// GuestUptime is the guest's uptime when the server was ready.
	GuestUptime time.Duration
	// Prestarted (StandbyReset): the server is the process the standby
	// started ahead, before the crash, and released after the mount.
	Prestarted bool
	// Restored (StandbyReset): the standby was restored from the VM's
	// standby template, not booted.
	Restored bool
	// FSCheck is the output of the boot-time file system check the agent
	// ran because the kernel refused to mount the data disk as corrupt
	// (empty when the mount needed none; ServerReady.fs_check).
	FSCheck string
}

// errReset ends the session of a boot that a reset wiped out.
var errReset = errors.New("VM was reset")

// HardReset resets the VM like a power cut (QMP system_reset: RAM and
// everything not yet written to the virtual disks is lost) and waits until
// the agent of the new boot is back, the provisioned server reported ready
// and answers a query from the host. A failure is a *ResetError saying
// which side did not come back.
func (vm *VM) HardReset(ctx context.Context) (ResetResult, error) {
	q := vm.machine()
	if q == nil {
		return ResetResult{}, errors.New("hard reset: VM has no QEMU")
	}
	vm.mu.Lock()
	old := vm.bootID
	vm.mu.Unlock()
	var res ResetResult
	tl := &res.Timeline
	tl.Sent = time.Now()
	q.console.Mark("==== crashrig: QMP system_reset ====")
	vm.ExpectNewBoot() // the reset's boot, and no other
	if err := vm.qmpRun(ctx, `{"execute":"system_reset"}`); err != nil {
		vm.mu.Lock()
		vm.boots.expecting = false // no reset, so no new boot to trust
		vm.mu.Unlock()
		return res, vm.resetFailed(&res, ErrVMNotBack, fmt.Errorf("system_reset: %w", err))
	}
	tl.Acked = time.Since(tl.Sent)
	// Only after the reset: until then the old agent could reconnect.
	vm.retireBoot(old, errReset)
	return vm.comeBack(ctx, old, res)
}

// qmpRun runs a QMP command on the VM's machine, giving up when ctx ends
// or QEMU exits: go-qemu's Run has no deadline, and a QEMU wedged on host
// I/O never answers. The abandoned call ends when QEMU dies (Kill closes
// the socket).
func (vm *VM) qmpRun(ctx context.Context, cmd string) error {
	return vm.qmpRunOn(ctx, vm.machine(), cmd)
}

func (vm *VM) resetFailed(res *ResetResult, reason, err error) error {
	vm.logf("VM %s: hard reset failed: %v: %v (%s)", vm.ID, reason, err, &res.Timeline)
	return &ResetError{VM: vm.ID, Reason: reason, Err: err, Result: *res}
}

// comeBack waits, after a reset, for the agent of a boot other than old,
// its server's ServerReady and an answer from the host, filling in res.
func (vm *VM) comeBack(ctx context.Context, old string, res ResetResult) (ResetResult, error) {
	tl := &res.Timeline
	fail := func(reason, err error) (ResetResult, error) {
		return res, vm.resetFailed(&res, reason, err)
	}
	// The agent of a new boot.
	err := vm.waitFor(ctx, "the agent of a new boot", func() bool {
		return vm.sess != nil && !vm.sess.isRetired() && vm.bootID != old
	})
	if err != nil {
		return fail(ErrVMNotBack, err)
	}
	vm.mu.Lock()
	res.BootID, tl.AgentBack = vm.bootID, vm.helloAt.Sub(tl.Sent)
	provisioned := vm.spec != nil
	vm.mu.Unlock()
	if !provisioned {
		vm.logf("VM %s: reset timeline: %s (boot %s)", vm.ID, tl, short(res.BootID))
		return res, nil
	}

	// Its server, as the agent reports it.
	var down string
	err = vm.waitFor(ctx, "the server of the new boot", func() bool {
		if vm.bootID != res.BootID {
			down = "the VM booted again (boot " + short(vm.bootID) + ") before its server was ready"
			return true
		}
		if vm.downBoot == res.BootID {
			down = vm.downWhy
			return true
		}
		// The event, not the hello's ready flag: it carries the recovery
		// time, and it follows the hello even when the agent had the server
		// up before it connected.
		return vm.readyEventBoot == res.BootID && vm.readyBoot == res.BootID
	})
	switch {
	case err != nil && vm.vmGone():
		return fail(ErrVMNotBack, err)
	case err != nil:
		return fail(ErrServerNotRecovered, err)
	case down != "":
		return fail(ErrServerNotRecovered, errors.New(down))
	}
	vm.consoleMark("==== crashrig: server ready reported ====")
	vm.mu.Lock()
	tl.ServerReady = vm.readyAt.Sub(tl.Sent)
	res.GuestUptime = time.Duration(vm.ready.GetUptimeSeconds() * float64(time.Second))
	if vm.ready.RecoveryNanos != nil {
		res.ServerRecovery, res.RecoveryReported = time.Duration(vm.ready.GetRecoveryNanos()), true
	}
	res.FSCheck = vm.ready.GetFsCheck()
	vm.mu.Unlock()

	// And from the host, through the port forward.
	if dsn := vm.DSN(); dsn != "" {
		if err := serverkind.WaitAnswer(ctx, dsn, vm.qemuDone()); err != nil {
			if errors.Is(err, serverkind.ErrGone) || vm.vmGone() {
				if why := vm.failure(); why != nil {
					return fail(ErrVMNotBack, why)
				}
				return fail(ErrVMNotBack, fmt.Errorf("QEMU exited: %w", err))
			}
			return fail(ErrServerNotRecovered, fmt.Errorf("does not answer from the host: %w", err))
		}
		tl.Answered = time.Since(tl.Sent)
		// On the console's clock too (as the ready event above):
		// bench/resetlog lines them up with the guest's boot marks.
		vm.consoleMark("==== crashrig: host query answered ====")
	}
	own := "not reported"
	if res.RecoveryReported {
		own = res.ServerRecovery.String()
	}
	vm.logf("VM %s: reset timeline: %s (guest uptime %.2fs, server's own recovery %s, boot %s)",
		vm.ID, tl, res.GuestUptime.Seconds(), own, short(res.BootID))
	return res, nil
}

// consoleMark writes a host-side line into the VM's console log, if it has
// one.
func (vm *VM) consoleMark(s string) {
	if vm.qemu != nil && vm.qemu.console != nil {
		vm.qemu.console.Mark(s)
	}
}

// vmGone reports whether the VM can no longer answer: QEMU exited, it was
// killed, or QMP reported it stopped on a host I/O error (vm.down).
func (vm *VM) vmGone() bool {
	select {
	case <-vm.qemuDone():
		return true
	default:
		return false
	}
}

func (tl *ResetTimeline) String() string {
	step := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return "+" + d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("reset acknowledged %s, agent hello %s, server ready %s, host query answered %s",
		step(tl.Acked), step(tl.AgentBack), step(tl.ServerReady), step(tl.Answered))
}
