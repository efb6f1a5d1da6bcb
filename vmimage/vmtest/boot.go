package vmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/vmimage"
)

// VM is a throwaway VM booted from the shared image on an overlay disk.
type VM struct {
	Process *qemu.Process
	SSHAddr string
	Console string // path of the serial console log
	image   *vmimage.Image
}

// Boot starts a VM from im on a fresh qcow2 overlay with its own ports. The
// VM is killed when the test ends, also on failure, timeout or panic (cleanup
// plus PDEATHSIG); its console is logged if the test failed.
func Boot(t testing.TB, im *vmimage.Image) *VM {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	overlay := filepath.Join(dir, "root.qcow2")
	if err := qemu.CreateOverlay(ctx, im.Path(vmimage.FileDisk), overlay); err != nil {
		t.Fatal(err)
	}
	ports, err := qemu.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	console := filepath.Join(dir, "console.log")
	f, err := os.Create(console)
	if err != nil {
		t.Fatal(err)
	}
	m := im.Machine()
	m.Disks[0].Path = overlay
	m.HostFwds = []qemu.HostFwd{{HostPort: ports[0], GuestPort: vmimage.GuestSSHPort}}
	m.Serial = "stdio"
	p, err := qemu.Start(ctx, m, f, qemu.WithLogf(t.Logf), qemu.WithSlotContext(SlotContext(t)))
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		f.Close()
		if t.Failed() {
			t.Logf("VM console (%s):\n%s", console, qemu.ReadConsole(console))
		}
	})
	return &VM{Process: p, SSHAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), Console: console, image: im}
}

// SSH connects as root once sshd answers, within timeout.
func (vm *VM) SSH(t testing.TB, timeout time.Duration) *ssh.Client {
	t.Helper()
	cfg, err := vm.image.SSHClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := qemu.DialSSH(ctx, vm.SSHAddr, cfg)
	if err != nil {
		t.Fatalf("ssh to VM: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// SlotContext bounds a test's wait for a host-wide VM slot: the test's
// deadline (less a margin, so the wait fails with its own message rather
// than the test binary's timeout panic), and the end of the test. Other
// packages' VM tests may hold every slot for minutes, so a step timeout is
// the wrong bound.
func SlotContext(t testing.TB) context.Context {
	ctx := t.Context()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
			t.Cleanup(cancel)
		}
	}
	return ctx
}
