package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/crypto/ssh"

	crproto "github.com/crashrig/crashrig/proto"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage"
)

// DefaultDataDiskSize is the size of a VM's data disk (/dev/vdb).
const DefaultDataDiskSize = "2G"

// VMSpec describes a VM to start.
type VMSpec struct {
	// Image is the VM image; it is never modified (the VM writes to a
	// qcow2 overlay).
	Image *vmimage.Image
	// Dir holds the VM's overlay, data disk, console log and QMP socket.
	// Empty: a new temporary directory, removed by Kill.
	Dir string
	// ID names the VM (default vm1, vm2, ...).
	ID           string
	DataDiskSize string
	// DataDiskDir, if set, holds the data disk's file instead of Dir (e.g.
	// a small filesystem, to test a full host disk).
	DataDiskDir  string
	MemMiB, CPUs int // 0: the image's
	// Console, if set, receives a copy of the serial console.
	Console io.Writer
	// KernelArgs are appended to the kernel command line (e.g. loglevel=7
	// to see a boot timeline on the console).
	KernelArgs []string
	// DataDiskCache is QEMU's cache mode for the data disk (-drive
	// cache=; empty: QEMU's default, writeback). A QMP system_reset loses
	// nothing the guest already handed to QEMU in any mode; the mode only
	// matters if QEMU or the host dies.
	DataDiskCache string
	// Standby keeps a second machine booted ahead (no data disk, low
	// priority), so that StandbyReset can bring the crashed VM's data
	// disk up on it instead of rebooting. The VM's DSN and SSH address
	// then go through host proxies that follow the machine in charge.
	Standby bool
	// Standbys is how many standbys it keeps booted ahead (0:
	// DefaultStandbys).
	Standbys int
	// Sampler keeps one more machine, booted once, on which PowerCut
	// recovers its sampled crash states (WithSamples) by hot-plugging
	// each in turn, instead of booting the VM on each (sampler.go).
	Sampler bool
	// LogDataDisk records every write and flush to the data disk on the
	// host (QEMU's blklogwrites; the disk has a volatile write cache), so
	// that PowerCut can build the disk a power cut may leave. DataDiskDir
	// and DataDiskCache do not apply.
	LogDataDisk bool
	// DataDiskState, with LogDataDisk, is a raw image to start the data
	// disk from (a copy; e.g. a crash state to replay) instead of an
	// empty disk.
	DataDiskState string
	// RootDisk, if set, is a root-disk overlay of an earlier VM over the
	// same image (a run's artifact) to start from, a copy of it, instead
	// of a fresh one: its agent then restores the server it had
	// provisioned (see VM.Adopt).
	RootDisk string
}

// qemuVM is one QEMU machine of a VM: its first; a standby booted ahead
// that took over the VM's data disk after a crash (standby.go); or the
// machine a power cut reboots on the built crash state (powercut.go).
type qemuVM struct {
	proc      *qemu.Process
	mon       *qmp.SocketMonitor
	dir       string
	console   *qemu.ConsoleLog
	sshPort   int
	mysqlPort int
	image     *vmimage.Image
	qmpPath   string
	// root is the root disk's overlay. A machine that reboots the VM
	// after a power cut is given its predecessor's (the guest's disk
	// survives the cut); every other machine creates its own.
	root string
	// agentID is the VM id its agent presents: vm.ID for the first
	// machine, its own for a standby (so the control plane knows which
	// machine an agent runs in).
	agentID string

	// A standby's agent session and boot guard, until it is adopted
	// (protected by the VM's mutex).
	standbySess  *session
	standbyBoots bootGuard
	standbyBoot  string
	// installed counts the VM's installs replayed on this standby;
	// prepared: it has them all and can take over.
	installed int
	prepared  bool
	// sampler: the VM's sampling machine (sampler.go), not a standby
	// that may take over; sampling while a state is attached, and what
	// its server reported then (under the VM's mu).
	sampler      bool
	sampling     bool
	sampleEvents []string
	// template is what a restored standby starts from (nil: it boots).
	template *standbyTemplate
	// serverPreparing is the provisioning whose server this standby is
	// starting ahead (PrepareServer in flight); serverPrepared the one it
	// finished (started ahead, or failed: then the attach starts it).
	serverPreparing, serverPrepared *pb.ProvisionServer

	// Kill, or the crash that replaces this machine (a standby reset or
	// a power cut), undoes startMachine's steps.
	cleanupList
}

// cleanupList undoes steps that succeeded, last first, once.
type cleanupList struct {
	cleanupMu sync.Mutex
	cleanups  []func()
	cleaned   bool
}

// onCleanup registers the undoing of a step that succeeded; after the
// cleanup (a Kill during a start) it undoes the step at once.
func (c *cleanupList) onCleanup(f func()) {
	c.cleanupMu.Lock()
	done := c.cleaned
	if !done {
		c.cleanups = append(c.cleanups, f)
	}
	c.cleanupMu.Unlock()
	if done {
		f()
	}
}

// cleanup runs the cleanups once, last step first.
func (c *cleanupList) cleanup() {
	c.cleanupMu.Lock()
	fs := c.cleanups
	c.cleanups, c.cleaned = nil, true
	c.cleanupMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// startStep is one named step of StartVM.
type startStep struct {
	name string
	run  func(ctx context.Context) error
}

var (
	accelMu    sync.Mutex
	accelCache = map[string]qemu.Accel{}
)

// chooseAccel resolves the accelerator once per process: the KVM probe
// costs a few seconds when KVM is broken.
func (cp *ControlPlane) chooseAccel(ctx context.Context, im *vmimage.Image) (qemu.Accel, error) {
	accelMu.Lock()
	defer accelMu.Unlock()
	if a, ok := accelCache[cp.opts.accel]; ok {
		return a, nil
	}
	a, why, err := qemu.ChooseAccel(ctx, cp.opts.accel, im.Machine(), cp.startOptions()...)
	if err != nil {
		return "", err
	}
	cp.logf("control plane: accelerator %s (%s)", a, why)
	accelCache[cp.opts.accel] = a
	return a, nil
}

// StartVM boots a VM from spec.Image whose agent connects to this control
// plane. It returns once QEMU runs and its QMP socket answers; use
// WaitAgent to wait for the agent. It runs named steps, each registering
// its undoing: an error names the step that failed, and the steps done so
// far are undone (as Kill does). With spec.Standby it also boots a standby
// machine in the background (see StandbyReset).
func (cp *ControlPlane) StartVM(ctx context.Context, spec VMSpec) (_ *VM, err error) {
	if spec.Image == nil {
		return nil, errors.New("start VM: no image")
	}
	accel, err := cp.chooseAccel(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	vm, err := cp.newVM(spec.ID)
	if err != nil {
		return nil, err
	}
	vm.spec0 = spec
	vm.accel = accel
	vm.dir = spec.Dir
	defer func() {
		if err != nil {
			vm.Kill()
		}
	}()
	steps := []startStep{
		{"VM directory", func(context.Context) error {
			if vm.dir != "" {
				return nil
			}
			dir, err := os.MkdirTemp("", "crashrig-"+vm.ID+"-")
			if err != nil {
				return err
			}
			vm.dir = dir
			vm.onCleanup(func() { os.RemoveAll(dir) })
			return nil
		}},
		{"data disk", func(ctx context.Context) error {
			size := spec.DataDiskSize
			if size == "" {
				size = DefaultDataDiskSize
			}
			if spec.LogDataDisk {
				return vm.createLoggedDataDisk(ctx, size)
			}
			data := filepath.Join(vm.dir, "data.qcow2")
			if spec.DataDiskDir != "" {
				data = filepath.Join(spec.DataDiskDir, "data-"+vm.ID+".qcow2")
				vm.onCleanup(func() { os.Remove(data) })
			}
			vm.dataDisk = qemu.Disk{Path: data, Format: "qcow2", Cache: spec.DataDiskCache}
			return qemu.CreateDisk(ctx, data, size)
		}},
		{"port proxies", func(ctx context.Context) error {
			if !spec.Standby {
				return nil
			}
			return vm.startProxies(ctx)
		}},
	}
	for _, st := range steps {
		if err := st.run(ctx); err != nil {
			return vm, fmt.Errorf("start VM %s: %s: %w", vm.ID, st.name, err)
		}
	}
	q := &qemuVM{dir: vm.dir, image: spec.Image, agentID: vm.ID}
	vm.mu.Lock()
	vm.qemu = q
	vm.mu.Unlock()
	if err := cp.startMachine(ctx, vm, q, false); err != nil {
		return vm, err
	}
	// Standbys start after Provision or Adopt (prepareStandbys), or at
	// the first StandbyReset.
	return vm, nil
}

// startMachine boots one machine of vm in q.dir: the VM's (with its data
// disk, vm.DataDisk) or a standby (no data disk, low priority). Its steps
// register their undoing on q. What q already has is kept: a machine that
// reboots the VM after a power cut comes with its predecessor's root
// disk, host ports and console log path (appended to).
func (cp *ControlPlane) startMachine(ctx context.Context, vm *VM, q *qemuVM, standby bool) error {
	spec := vm.spec0
	m := spec.Image.Machine()
	m.Accel = vm.accel
	reboot := q.root != ""
	steps := []startStep{
		{"machine directory", func(context.Context) error {
			return os.MkdirAll(q.dir, 0o755)
		}},
		{"root disk overlay", func(ctx context.Context) error {
			if reboot {
				return nil
			}
			q.root = filepath.Join(q.dir, "root.qcow2")
			if standby {
				// Only the first machine's overlay is an artifact of the
				// run (the harness collects it); a standby's goes with it.
				overlay := q.root
				q.onCleanup(func() { os.Remove(overlay) })
			} else if spec.RootDisk != "" {
				return vmimage.CopyFile(spec.RootDisk, q.root, 0o600)
			}
			if q.template != nil {
				// The disk the saved guest had, under what it writes now.
				return qemu.CreateOverlay(ctx, q.template.root, q.root)
			}
			return qemu.CreateOverlay(ctx, spec.Image.Path(vmimage.FileDisk), q.root)
		}},
		{"host ports", func(context.Context) error {
			if q.sshPort != 0 && q.mysqlPort != 0 {
				return nil
			}
			ports, err := qemu.FreePorts(2)
			if err != nil {
				return err
			}
			q.sshPort, q.mysqlPort = ports[0], ports[1]
			return nil
		}},
		{"QMP socket path", func(context.Context) error {
			q.qmpPath = filepath.Join(q.dir, "qmp.sock")
			if len(q.qmpPath) > 100 { // sun_path is 108 bytes
				f, err := os.CreateTemp("", "crashrig-qmp-*.sock")
				if err != nil {
					return err
				}
				f.Close()
				os.Remove(f.Name())
				q.qmpPath = f.Name()
			}
			path := q.qmpPath
			q.onCleanup(func() { os.Remove(path) })
			return nil
		}},
		{"console log", func(context.Context) error {
			open := qemu.NewConsoleLog
			if reboot {
				// One console log across the VM's boots.
				open = qemu.AppendConsoleLog
			}
			c, err := open(filepath.Join(q.dir, "console.log"), spec.Console)
			if err != nil {
				return err
			}
			q.console = c
			q.onCleanup(func() { c.Close() })
			return nil
		}},
		{"QEMU", func(ctx context.Context) error {
			if spec.MemMiB > 0 {
				m.MemMiB = spec.MemMiB
			}
			if spec.CPUs > 0 {
				m.CPUs = spec.CPUs
			}
			// A standby never sees the data disk before a crash hands it
			// over (hot-plugged at the same PCI slot, so it is /dev/vdb
			// there too).
			m.Disks = []qemu.Disk{{Path: q.root, Format: "qcow2"}}
			if !standby {
				m.Disks = append(m.Disks, vm.DataDisk())
			}
			m.HostFwds = []qemu.HostFwd{
				{HostPort: q.sshPort, GuestPort: vmimage.GuestSSHPort},
				{HostPort: q.mysqlPort, GuestPort: serverkind.GuestPort},
			}
			m.Serial = "stdio"
			m.QMPSocket = q.qmpPath
			// The agent's secret goes by fw_cfg, never on the command
			// line that every local user can read.
			m.Append = vmimage.DefaultAppend
			ac := &pb.AgentConfig{ControlPlane: fmt.Sprintf("%s:%d", vmimage.GuestHostAddr, cp.Port()), VmId: q.agentID, Token: vm.token}
			if q.template != nil {
				var err error
				if ac.ResumeId, ac.Entropy, err = newResume(); err != nil {
					return err
				}
				m.Incoming = q.template.incoming()
			}
			agentCfg, err := writeAgentConfig(q.dir, ac)
			if err != nil {
				return err
			}
			q.onCleanup(func() { os.Remove(agentCfg) })
			m.FwCfg = append(m.FwCfg, qemu.FwCfg{Name: crproto.AgentConfigName, File: agentCfg})
			if len(spec.KernelArgs) > 0 {
				m.Append += " " + strings.Join(spec.KernelArgs, " ")
			}
			// QEMU lives as long as the machine, not as long as this
			// call's ctx.
			qctx, cancel := context.WithCancel(context.Background())
			// The wait for a VM slot is StartVM's; QEMU's life is not.
			opts := append(cp.startOptions(), qemu.WithSlotContext(ctx))
			if standby {
				// It shares its process's VM slot with its VM, and must not
				// slow the VMs that run tests while it boots.
				opts = append(opts, qemu.WithLowPriority())
			}
			proc, err := qemu.Start(qctx, m, q.console, opts...)
			if err != nil {
				cancel()
				return err
			}
			q.proc = proc
			q.onCleanup(func() {
				proc.Kill()
				cancel()
			})
			// Ends when QEMU does, which the cleanup above guarantees.
			go func() {
				<-proc.Done()
				vm.machineExited(q)
			}()
			what := "QEMU"
			switch {
			case q.template != nil:
				what = fmt.Sprintf("standby QEMU restored from template %d (nice 19, idle I/O)", q.template.n)
			case standby:
				what = "standby QEMU (nice 19, idle I/O)"
			}
			cp.logf("control plane: VM %s: %s pid %d (%s), ssh 127.0.0.1:%d, mysql 127.0.0.1:%d, dir %s",
				vm.ID, what, proc.Pid(), vm.accel, q.sshPort, q.mysqlPort, q.dir)
			return nil
		}},
		{"QMP connection", func(ctx context.Context) error {
			mon, err := qemu.DialQMP(ctx, q.qmpPath, q.proc)
			if err != nil {
				return err
			}
			q.mon = mon
			q.onCleanup(func() { mon.Disconnect() })
			// QEMU has read the agent's config by now: keep no copy of
			// the token.
			os.Remove(filepath.Join(q.dir, agentConfigFile))
			return nil
		}},
		{"QMP events", func(context.Context) error {
			w, err := vm.watchQMP(q)
			if err != nil {
				return err
			}
			// The watcher ends when the monitor disconnects.
			q.onCleanup(func() {
				q.mon.Disconnect()
				w.wait()
			})
			return nil
		}},
	}
	for _, st := range steps {
		if err := st.run(ctx); err != nil {
			name := "start VM"
			if standby {
				name = "start standby of VM"
			}
			return fmt.Errorf("%s %s: %s: %w", name, vm.ID, st.name, err)
		}
	}
	return nil
}

// Shutdown stops the server cleanly and powers the guest off, waiting for
// QEMU to exit (killing it if ctx ends first).
func (vm *VM) Shutdown(ctx context.Context) error {
	q := vm.machine()
	if q == nil {
		return errors.New("shutdown: VM has no QEMU")
	}
	defer vm.Kill()
	vm.mu.Lock()
	provisioned := vm.spec != nil
	vm.mu.Unlock()
	if provisioned {
		if err := vm.StopServer(ctx, true, false); err != nil {
			return err
		}
	}
	// busybox poweroff signals init and returns; the guest's rc.shutdown
	// stops everything and remounts read-only.
	if _, _, err := vm.Exec(ctx, "busybox", "poweroff"); err != nil && !errors.Is(err, ErrAgentLost) {
		return err
	}
	if err := q.proc.Wait(ctx); err != nil {
		return fmt.Errorf("VM %s: waiting for power-off: %w", vm.ID, err)
	}
	return nil
}

// Kill stops QEMU at once and releases the VM's files. Safe to call twice.
func (vm *VM) Kill() {
	// Forgotten first: a waiter that Kill wakes finds the VM gone.
	vm.cp.forget(vm)
	vm.mu.Lock()
	vm.killed = true
	vm.broadcast()
	vm.mu.Unlock()
	vm.retire(errors.New("VM killed"))
	vm.markDown()
	vm.stopStandbys()
	if q := vm.machine(); q != nil {
		q.cleanup() // the machine's steps, undone in reverse
	}
	vm.cleanup() // StartVM's own steps
}

// machine is the QEMU machine that runs the VM now (nil without QEMU); a
// standby reset replaces it.
func (vm *VM) machine() *qemuVM {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.qemu
}

// machineExited: QEMU of q exited. The VM is down if q was running it; a
// crashed machine that a standby or a power cut's reboot replaced, or a
// standby, is no loss. The machine and its down signal are read together
// (a reboot swaps both under vm.mu, replaceMachine).
func (vm *VM) machineExited(q *qemuVM) {
	vm.mu.Lock()
	current, down := vm.qemu == q, vm.down
	if vm.standbys.remove(q) {
		vm.broadcast()
	}
	vm.mu.Unlock()
	if current {
		down.close()
	}
}

// QEMUPid is the QEMU process id (0 without QEMU).
func (vm *VM) QEMUPid() int {
	q := vm.machine()
	if q == nil || q.proc == nil {
		return 0
	}
	return q.proc.Pid()
}

// ConsolePath is the serial console log (host-timestamped lines) of the
// machine that runs the VM now.
func (vm *VM) ConsolePath() string {
	q := vm.machine()
	if q == nil || q.console == nil {
		return ""
	}
	return q.console.Path()
}

// Console returns the console log so far.
func (vm *VM) Console() string { return qemu.ReadConsole(vm.ConsolePath()) }

// SSHAddr is the host address of the guest's sshd.
// With a standby it is a proxy's, which stays the same across standby
// resets.
func (vm *VM) SSHAddr() string {
	q := vm.machine()
	if q == nil {
		return ""
	}
	if vm.sshProxy != nil {
		return vm.sshProxy.addr()
	}
	return fmt.Sprintf("127.0.0.1:%d", q.sshPort)
}

// SSH logs in as root with the image's key once sshd answers.
func (vm *VM) SSH(ctx context.Context) (*ssh.Client, error) {
	q := vm.machine()
	if q == nil {
		return nil, errors.New("ssh: VM has no QEMU")
	}
	cfg, err := q.image.SSHClientConfig()
	if err != nil {
		return nil, err
	}
	return qemu.DialSSH(ctx, vm.SSHAddr(), cfg)
}
