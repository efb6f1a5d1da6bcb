// Package cptest ties the control plane to tests: every VM is killed when
// its test ends (also on failure and panic; on a test-binary timeout QEMU's
// PDEATHSIG does it), its console is logged when the test failed, and the
// control plane logs through t.Logf.
package cptest

import (
	"context"
	"testing"
	"time"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// New starts a control plane closed at the end of the test. Tests that
// boot VMs hold a host-wide VM slot first (HoldVMSlot; StartVM does it).
func New(t testing.TB, opts ...controlplane.Option) *controlplane.ControlPlane {
	t.Helper()
	opts = append([]controlplane.Option{controlplane.WithLogf(t.Logf)}, opts...)
	cp, err := controlplane.New(context.Background(), opts...)
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(func() { cp.Close() })
	return cp
}

// HoldVMSlot takes this test process's host-wide VM slot (qemu.AcquireSlot)
// for the rest of the test, waiting as long as the test's deadline allows.
// Call it before starting the clock on a VM's boot: a slot wait lasts as
// long as other packages' VMs run, and must not eat a boot timeout.
func HoldVMSlot(t testing.TB) {
	t.Helper()
	release, err := qemu.AcquireSlot(vmtest.SlotContext(t), t.Logf)
	if err != nil {
		t.Fatalf("VM slot: %v", err)
	}
	t.Cleanup(release)
}

// StartVM boots a VM in a test-owned directory and waits for its agent.
// The boot's 3 minutes start once the test holds a VM slot.
func StartVM(t testing.TB, cp *controlplane.ControlPlane, spec controlplane.VMSpec) *controlplane.VM {
	t.Helper()
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	HoldVMSlot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vm, err := cp.StartVM(ctx, spec)
	if vm != nil {
		t.Cleanup(func() {
			vm.Kill()
			if t.Failed() {
				t.Logf("VM %s console (%s):\n%s", vm.ID, vm.ConsolePath(), vm.Console())
			}
		})
	}
	if err != nil {
		t.Fatalf("start VM: %v", err)
	}
	start := time.Now()
	boot, err := vm.WaitAgent(ctx)
	if err != nil {
		t.Fatalf("VM %s: %v", vm.ID, err)
	}
	t.Logf("VM %s: agent connected %s after QEMU start (boot %s)", vm.ID, time.Since(start).Round(time.Millisecond), boot)
	return vm
}

// NoEvents fails the test for every unexpected event vm reported so far.
func NoEvents(t testing.TB, vm *controlplane.VM) {
	t.Helper()
	for {
		select {
		case e := <-vm.Events():
			t.Errorf("unexpected event: %s", e)
		default:
			return
		}
	}
}

// WaitEvent waits for vm's next unexpected event.
func WaitEvent(t testing.TB, vm *controlplane.VM, timeout time.Duration) controlplane.Event {
	t.Helper()
	select {
	case e := <-vm.Events():
		return e
	case <-time.After(timeout):
		t.Fatalf("VM %s: no event within %s", vm.ID, timeout)
		return controlplane.Event{}
	}
}
