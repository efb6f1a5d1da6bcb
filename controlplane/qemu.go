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

// qemuVM is the QEMU side of a VM.
type qemuVM struct {
	proc      *qemu.Process
	mon       *qmp.SocketMonitor
	dir       string
	console   *qemu.ConsoleLog
	sshPort   int
	mysqlPort int
	image     *vmimage.Image
	qmpPath   string

	// machine is the QEMU invocation without its data disk and agent
	// config, for a restart after a power cut.
	machine qemu.Machine
	root    string // the root disk's overlay (kept across restarts)
	// data is the data disk of the running QEMU.
	data qemu.Disk
	// powerCut is the logged data disk's state (nil: a plain data disk).
	powerCut *powerCutDisk

	// cleanups undo StartVM's steps; Kill runs them once, in reverse.
	cleanups cleanupList
	// boot undoes the running QEMU's start (QEMU, QMP): a power cut runs
	// it and starts QEMU again; Kill runs it through cleanups.
	boot *cleanupList
}

// cleanupList is a list of undo steps run once, last first.
type cleanupList struct {
	mu   sync.Mutex
	fs   []func()
	done bool
}

// add registers the undoing of a step that succeeded; after run (a Kill
// during StartVM) it undoes the step at once.
func (c *cleanupList) add(f func()) {
	c.mu.Lock()
	done := c.done
	if !done {
		c.fs = append(c.fs, f)
	}
	c.mu.Unlock()
	if done {
		f()
	}
}

// run runs the cleanups once, last step first.
func (c *cleanupList) run() {
	c.mu.Lock()
	fs := c.fs
	c.fs, c.done = nil, true
	c.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (q *qemuVM) onCleanup(f func()) { q.cleanups.add(f) }

func (q *qemuVM) cleanup() { q.cleanups.run() }

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
// far are undone (as Kill does).
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
	q := &qemuVM{dir: spec.Dir, image: spec.Image}
	vm.qemu = q
	defer func() {
		if err != nil {
			vm.Kill()
		}
	}()
	m := spec.Image.Machine()
	m.Accel = accel
	var overlay string
	steps := []startStep{
		{"VM directory", func(context.Context) error {
			if q.dir != "" {
				return nil
			}
			dir, err := os.MkdirTemp("", "crashrig-"+vm.ID+"-")
			if err != nil {
				return err
			}
			q.dir = dir
			q.onCleanup(func() { os.RemoveAll(dir) })
			return nil
		}},
		{"root disk overlay", func(ctx context.Context) error {
			overlay = filepath.Join(q.dir, "root.qcow2")
			if spec.RootDisk != "" {
				return vmimage.CopyFile(spec.RootDisk, overlay, 0o600)
			}
			return qemu.CreateOverlay(ctx, spec.Image.Path(vmimage.FileDisk), overlay)
		}},
		{"data disk", func(ctx context.Context) error {
			size := spec.DataDiskSize
			if size == "" {
				size = DefaultDataDiskSize
			}
			if spec.LogDataDisk {
				return q.createLoggedDataDisk(ctx, spec, size)
			}
			data := filepath.Join(q.dir, "data.qcow2")
			if spec.DataDiskDir != "" {
				data = filepath.Join(spec.DataDiskDir, "data-"+vm.ID+".qcow2")
				q.onCleanup(func() { os.Remove(data) })
			}
			q.data = qemu.Disk{Path: data, Format: "qcow2", Cache: spec.DataDiskCache}
			return qemu.CreateDisk(ctx, data, size)
		}},
		{"host ports", func(context.Context) error {
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
			c, err := qemu.NewConsoleLog(filepath.Join(q.dir, "console.log"), spec.Console)
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
			m.Disks = []qemu.Disk{{Path: overlay, Format: "qcow2"}}
			m.Serial = "stdio"
			m.QMPSocket = q.qmpPath
			m.Append = vmimage.DefaultAppend
			if len(spec.KernelArgs) > 0 {
				m.Append += " " + strings.Join(spec.KernelArgs, " ")
			}
			q.machine, q.root = m, overlay
			// Whatever QEMU runs when the VM goes.
			q.onCleanup(vm.stopQEMU)
			return cp.bootQEMU(ctx, vm, q.data)
		}},
	}
	for _, st := range steps {
		if err := st.run(ctx); err != nil {
			return vm, fmt.Errorf("start VM %s: %s: %w", vm.ID, st.name, err)
		}
	}
	return vm, nil
}

// bootQEMU starts QEMU for vm with data as its data disk (/dev/vdb) and
// connects to its QMP socket. Its steps' undoing goes to a fresh q.boot,
// which stopQEMU runs. It is the one place a VM gets a QEMU: StartVM's
// first boot and a power cut's restart on a built crash state.
func (cp *ControlPlane) bootQEMU(ctx context.Context, vm *VM, data qemu.Disk) error {
	q := vm.qemu
	b := &cleanupList{}
	vm.mu.Lock()
	q.boot = b
	vm.mu.Unlock()
	m := q.machine
	m.Disks = []qemu.Disk{{Path: q.root, Format: "qcow2"}, data}
	vm.mu.Lock()
	mysqlPort := q.mysqlPort
	vm.mu.Unlock()
	m.HostFwds = []qemu.HostFwd{
		{HostPort: q.sshPort, GuestPort: vmimage.GuestSSHPort},
		{HostPort: mysqlPort, GuestPort: serverkind.GuestPort},
	}
	steps := []startStep{
		{"QEMU", func(ctx context.Context) error {
			// The agent's secret goes by fw_cfg, never on the command
			// line that every local user can read.
			agentCfg, err := writeAgentConfig(q.dir, fmt.Sprintf("%s:%d", vmimage.GuestHostAddr, cp.Port()), vm)
			if err != nil {
				return err
			}
			b.add(func() { os.Remove(agentCfg) })
			m.FwCfg = append(m.FwCfg, qemu.FwCfg{Name: crproto.AgentConfigName, File: agentCfg})
			// QEMU lives as long as the VM, not as long as this call's ctx.
			qctx, cancel := context.WithCancel(context.Background())
			// The wait for a VM slot is StartVM's; QEMU's life is not.
			proc, err := qemu.Start(qctx, m, q.console, append(cp.startOptions(), qemu.WithSlotContext(ctx))...)
			if err != nil {
				cancel()
				return err
			}
			vm.mu.Lock()
			q.proc, q.data = proc, data
			down := vm.down
			vm.mu.Unlock()
			b.add(func() {
				proc.Kill()
				cancel()
			})
			// Ends when QEMU does, which the cleanup above guarantees.
			go func() {
				<-proc.Done()
				down.close()
			}()
			cp.logf("control plane: VM %s: QEMU pid %d (%s), ssh 127.0.0.1:%d, mysql 127.0.0.1:%d, dir %s",
				vm.ID, proc.Pid(), m.Accel, q.sshPort, mysqlPort, q.dir)
			return nil
		}},
		{"QMP connection", func(ctx context.Context) error {
			mon, err := qemu.DialQMP(ctx, q.qmpPath, q.proc)
			if err != nil {
				return err
			}
			q.mon = mon
			b.add(func() { mon.Disconnect() })
			// QEMU has read the agent's config by now: keep no copy of
			// the token.
			os.Remove(filepath.Join(q.dir, agentConfigFile))
			return nil
		}},
		{"QMP events", func(context.Context) error {
			w, err := vm.watchQMP()
			if err != nil {
				return err
			}
			// The watcher ends when the monitor disconnects.
			mon := q.mon
			b.add(func() {
				mon.Disconnect()
				w.wait()
			})
			return nil
		}},
	}
	for _, st := range steps {
		if err := st.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

// stopQEMU kills the running QEMU (SIGKILL) and undoes its start; the
// VM's files stay.
func (vm *VM) stopQEMU() {
	vm.mu.Lock()
	b := vm.qemu.boot
	vm.mu.Unlock()
	if b != nil {
		b.run()
	}
}

// Shutdown stops the server cleanly and powers the guest off, waiting for
// QEMU to exit (killing it if ctx ends first).
func (vm *VM) Shutdown(ctx context.Context) error {
	q := vm.qemu
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
	if vm.qemu != nil {
		vm.qemu.cleanup() // StartVM's steps, undone in reverse
	}
}

// QEMUPid is the QEMU process id (0 without QEMU).
func (vm *VM) QEMUPid() int {
	if vm.qemu == nil || vm.qemu.proc == nil {
		return 0
	}
	return vm.qemu.proc.Pid()
}

// ConsolePath is the serial console log (host-timestamped lines).
func (vm *VM) ConsolePath() string {
	if vm.qemu == nil || vm.qemu.console == nil {
		return ""
	}
	return vm.qemu.console.Path()
}

// Console returns the console log so far.
func (vm *VM) Console() string { return qemu.ReadConsole(vm.ConsolePath()) }

// SSHAddr is the host address of the guest's sshd.
func (vm *VM) SSHAddr() string {
	if vm.qemu == nil {
		return ""
	}
	return fmt.Sprintf("127.0.0.1:%d", vm.qemu.sshPort)
}

// SSH logs in as root with the image's key once sshd answers.
func (vm *VM) SSH(ctx context.Context) (*ssh.Client, error) {
	if vm.qemu == nil {
		return nil, errors.New("ssh: VM has no QEMU")
	}
	cfg, err := vm.qemu.image.SSHClientConfig()
	if err != nil {
		return nil, err
	}
	return qemu.DialSSH(ctx, vm.SSHAddr(), cfg)
}
