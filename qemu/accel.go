package qemu

import (
	"bytes"
	"context"
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
// It returns the accelerator and why it was chosen.
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
	if err := probeKVM(ctx, base, opts); err != nil {
		return AccelTCG, fmt.Sprintf("KVM probe failed: %v", err), nil
	}
	return AccelKVM, "KVM probe boot succeeded", nil
}

// probeKVM boots base's kernel under KVM with crashrig.probe on its command
// line; the initramfs prints a marker and powers off.
func probeKVM(ctx context.Context, base Machine, opts []StartOption) error {
	ctx, cancel := context.WithTimeout(ctx, kvmProbeTimeout)
	defer cancel()
	m := Machine{
		Accel: AccelKVM, MemMiB: 256, CPUs: 1,
		Kernel: base.Kernel, Initrd: base.Initrd,
		Append:   "console=ttyS0 quiet crashrig.probe",
		Serial:   "stdio",
		NoReboot: true,
		Extra:    base.Extra,
	}
	var out lockedBuffer
	p, err := Start(ctx, m, &out, opts...)
	if err != nil {
		return err
	}
	defer p.Kill()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(out.String(), "crashrig-probe-ok") {
			return nil
		}
		select {
		case <-ctx.Done():
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
