package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// kvmProbeTimeout bounds the KVM probe boot. Under working KVM the probe
// kernel reaches its initramfs in well under a second.
const kvmProbeTimeout = 8 * time.Second

// ChooseAccel resolves an -accel choice ("auto", "tcg" or "kvm"). For "auto"
// it probes KVM with a short bounded boot of kernel+initrd and falls back to
// TCG: on some hosts /dev/kvm exists and KVM_CREATE_VM works, yet guests hang.
// It returns the accelerator and why it was chosen. A verdict is kept for
// the host's boot and QEMU binary (accelcache.go), so one probe serves every
// process until the host reboots or QEMU is upgraded.
func ChooseAccel(ctx context.Context, choice string, base Machine, opts ...StartOption) (Accel, string, error) {
	switch choice {
	case "tcg":
		return AccelTCG, "requested", nil
	case "kvm":
		return AccelKVM, "requested", nil
	case "auto", "":
	default:
		return "", "", fmt.Errorf("-accel %q: want auto, tcg or kvm", choice)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelTCG, fmt.Sprintf("KVM unavailable (%v)", err), nil
	}
	f.Close()
	if v, ok := cachedAccel(); ok {
		return v.Accel, v.Why + " (cached verdict of this host boot)", nil
	}
	if err := probeKVM(ctx, base, opts); err != nil {
		if ctx.Err() != nil {
			// The caller gave up: no verdict about KVM.
			return "", "", fmt.Errorf("KVM probe: %w", ctx.Err())
		}
		why := fmt.Sprintf("KVM probe failed: %v", err)
		if _, notRun := errors.AsType[*probeNotRunError](err); !notRun {
			saveAccel(AccelTCG, why)
		}
		return AccelTCG, why, nil
	}
	saveAccel(AccelKVM, "KVM probe boot succeeded")
	return AccelKVM, "KVM probe boot succeeded", nil
}

// probeKVM boots base's kernel under KVM with crashrig.probe on its command
// line; the initramfs prints a marker and powers off.
func probeKVM(ctx context.Context, base Machine, opts []StartOption) error {
	m := Machine{
		Accel: AccelKVM, MemMiB: 256, CPUs: 1,
		Kernel: base.Kernel, Initrd: base.Initrd,
		Append:   "console=ttyS0 quiet crashrig.probe",
		Serial:   "stdio",
		NoReboot: true,
		Extra:    base.Extra,
	}
	var out lockedBuffer
	// The probe's clock starts once QEMU runs: a wait for a VM slot on a
	// busy host is no verdict about KVM.
	p, err := Start(ctx, m, &out, opts...)
	if err != nil {
		return &probeNotRunError{err}
	}
	defer p.Kill()
	deadline := time.NewTimer(kvmProbeTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(out.String(), "crashrig-probe-ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("guest did not reach its initramfs within %s", kvmProbeTimeout)
		case <-p.Done():
			if strings.Contains(out.String(), "crashrig-probe-ok") {
				return nil
			}
			return fmt.Errorf("qemu exited: %v: %s", p.ExitErr(), strings.TrimSpace(out.String()))
		case <-tick.C:
		}
	}
}

// probeNotRunError: the probe's QEMU did not start, which says nothing
// about KVM, so the fallback to TCG is not kept as a verdict.
type probeNotRunError struct{ err error }

func (e *probeNotRunError) Error() string { return e.err.Error() }
func (e *probeNotRunError) Unwrap() error { return e.err }

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
