package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
	"golang.org/x/crypto/ssh"

	"github.com/crashrig/crashrig/controlplane/serverkind"
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
}

// qemuVM is the QEMU side of a VM.
type qemuVM struct {
	proc      *vmimage.Process
	cancel    context.CancelFunc
	mon       *qmp.SocketMonitor
	dir       string
	ownDir    bool
	console   *consoleLog
	sshPort   int
	mysqlPort int
	image     *vmimage.Image
	qmpPath   string
	killOnce  sync.Once
	ownFiles  []string // removed by Kill, outside dir
	qmp       *qmpWatch
}

var (
	accelMu    sync.Mutex
	accelCache = map[string]vmimage.Accel{}
)

// chooseAccel resolves the accelerator once per process: the KVM probe
// costs a few seconds when KVM is broken.
func (cp *ControlPlane) chooseAccel(ctx context.Context, im *vmimage.Image) (vmimage.Accel, error) {
	accelMu.Lock()
	defer accelMu.Unlock()
	if a, ok := accelCache[cp.opts.accel]; ok {
		return a, nil
	}
	a, why, err := vmimage.ChooseAccel(ctx, cp.opts.accel, im.Machine())
	if err != nil {
		return "", err
	}
	cp.logf("control plane: accelerator %s (%s)", a, why)
	accelCache[cp.opts.accel] = a
	return a, nil
}

// StartVM boots a VM from spec.Image whose agent connects to this control
// plane. It returns once QEMU runs and its QMP socket answers; use
// WaitAgent to wait for the agent.
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
	if q.dir == "" {
		if q.dir, err = os.MkdirTemp("", "crashrig-"+vm.ID+"-"); err != nil {
			return vm, err
		}
		q.ownDir = true
	}
	overlay := filepath.Join(q.dir, "root.qcow2")
	if err := vmimage.CreateOverlay(ctx, spec.Image.Path(vmimage.FileDisk), overlay); err != nil {
		return vm, err
	}
	data := filepath.Join(q.dir, "data.qcow2")
	if spec.DataDiskDir != "" {
		data = filepath.Join(spec.DataDiskDir, "data-"+vm.ID+".qcow2")
		q.ownFiles = append(q.ownFiles, data)
	}
	size := spec.DataDiskSize
	if size == "" {
		size = DefaultDataDiskSize
	}
	if err := vmimage.CreateDisk(ctx, data, size); err != nil {
		return vm, err
	}
	ports, err := vmimage.FreePorts(2)
	if err != nil {
		return vm, err
	}
	q.sshPort, q.mysqlPort = ports[0], ports[1]
	q.qmpPath = filepath.Join(q.dir, "qmp.sock")
	if len(q.qmpPath) > 100 { // sun_path is 108 bytes
		f, err := os.CreateTemp("", "crashrig-qmp-*.sock")
		if err != nil {
			return vm, err
		}
		f.Close()
		os.Remove(f.Name())
		q.qmpPath = f.Name()
	}
	if q.console, err = newConsoleLog(filepath.Join(q.dir, "console.log"), spec.Console); err != nil {
		return vm, err
	}

	m := spec.Image.Machine()
	m.Accel = accel
	if spec.MemMiB > 0 {
		m.MemMiB = spec.MemMiB
	}
	if spec.CPUs > 0 {
		m.CPUs = spec.CPUs
	}
	m.Disks = []vmimage.Disk{{Path: overlay, Format: "qcow2"}, {Path: data, Format: "qcow2"}}
	m.HostFwds = []vmimage.HostFwd{
		{HostPort: q.sshPort, GuestPort: vmimage.GuestSSHPort},
		{HostPort: q.mysqlPort, GuestPort: serverkind.GuestPort},
	}
	m.Serial = "stdio"
	m.QMPSocket = q.qmpPath
	m.Append = vmimage.DefaultAppend
	agentCfg, err := writeAgentConfig(q.dir, fmt.Sprintf("%s:%d", vmimage.GuestHostAddr, cp.Port()), vm)
	if err != nil {
		return vm, err
	}
	m.Extra = append(m.Extra, agentConfigArgs(agentCfg)...)
	if len(spec.KernelArgs) > 0 {
		m.Append += " " + strings.Join(spec.KernelArgs, " ")
	}

	// QEMU lives as long as the VM, not as long as this call's ctx.
	qctx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	if q.proc, err = vmimage.StartQEMU(qctx, m, q.console); err != nil {
		return vm, err
	}
	cp.logf("control plane: VM %s: QEMU pid %d (%s), ssh 127.0.0.1:%d, mysql 127.0.0.1:%d, dir %s",
		vm.ID, q.proc.Pid(), accel, q.sshPort, q.mysqlPort, q.dir)
	if q.mon, err = dialQMP(ctx, q.qmpPath, q.proc); err != nil {
		return vm, fmt.Errorf("VM %s: QMP: %w", vm.ID, err)
	}
	// QEMU has read the agent's config by now: keep no copy of the token.
	os.Remove(agentCfg)
	if q.qmp, err = vm.watchQMP(); err != nil {
		return vm, fmt.Errorf("VM %s: QMP events: %w", vm.ID, err)
	}
	return vm, nil
}

// dialQMP connects to QEMU's QMP socket, which appears shortly after start.
func dialQMP(ctx context.Context, path string, proc *vmimage.Process) (*qmp.SocketMonitor, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		mon, err := qmp.NewSocketMonitor("unix", path, 2*time.Second)
		if err == nil {
			if err = mon.Connect(); err == nil {
				return mon, nil
			}
			mon.Disconnect()
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-proc.Done():
			return nil, errors.New("QEMU exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// errReset ends the session of a boot that a reset wiped out.
var errReset = errors.New("VM was reset")

// HardReset resets the VM like a power cut (QMP system_reset: RAM and
// everything not yet written to the virtual disks is lost) and waits until
// the agent of the new boot is back, the provisioned server reported ready
// and the DSN answers a query. It returns how long that took.
func (vm *VM) HardReset(ctx context.Context) (time.Duration, error) {
	q := vm.qemu
	if q == nil {
		return 0, errors.New("hard reset: VM has no QEMU")
	}
	vm.mu.Lock()
	old := vm.bootID
	vm.mu.Unlock()
	start := time.Now()
	q.console.mark("==== crashrig: QMP system_reset ====")
	vm.ExpectNewBoot() // the reset's boot, and no other
	if _, err := q.mon.Run([]byte(`{"execute":"system_reset"}`)); err != nil {
		return 0, fmt.Errorf("VM %s: system_reset: %w", vm.ID, err)
	}
	// Only after the reset: until then the old agent could reconnect.
	vm.retire(errReset)
	if err := vm.waitBootReady(ctx, old); err != nil {
		return 0, err
	}
	agentBack := time.Since(start)
	if dsn := vm.DSN(); dsn != "" {
		if err := pingUntil(ctx, dsn); err != nil {
			return 0, fmt.Errorf("VM %s: server does not answer after reset: %w", vm.ID, err)
		}
	}
	took := time.Since(start)
	vm.mu.Lock()
	hello, ready, up := vm.helloAt.Sub(start), vm.readyAt.Sub(start), vm.readyUptime
	vm.mu.Unlock()
	if vm.DSN() == "" {
		ready, up = 0, 0
	}
	vm.logf("VM %s: reset timeline: agent hello +%s, server ready +%s (guest uptime %.2fs), agent and server back +%s, query answered +%s (boot %s)",
		vm.ID, hello.Round(time.Millisecond), ready.Round(time.Millisecond), up, agentBack.Round(time.Millisecond),
		took.Round(time.Millisecond), short(vm.BootID()))
	return took, nil
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
	vm.mu.Lock()
	vm.killed = true
	vm.broadcast()
	vm.mu.Unlock()
	vm.retire(errors.New("VM killed"))
	vm.cp.forget(vm)
	q := vm.qemu
	if q == nil {
		return
	}
	q.killOnce.Do(func() {
		if q.proc != nil {
			q.proc.Kill()
		}
		if q.cancel != nil {
			q.cancel()
		}
		if q.mon != nil {
			q.mon.Disconnect()
		}
		if q.console != nil {
			q.console.Close()
		}
		if q.qmpPath != "" {
			os.Remove(q.qmpPath)
		}
		if q.qmp != nil {
			q.qmp.wait()
		}
		for _, f := range q.ownFiles {
			os.Remove(f)
		}
		if q.ownDir {
			os.RemoveAll(q.dir)
		}
	})
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
	return vm.qemu.console.path
}

// Console returns the console log so far.
func (vm *VM) Console() string {
	p := vm.ConsolePath()
	if p == "" {
		return ""
	}
	b, _ := os.ReadFile(p)
	return vmimage.StripANSI(strings.ReplaceAll(string(b), "\r", ""))
}

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
	return vmimage.DialSSH(ctx, vm.SSHAddr(), cfg)
}

// consoleLog writes the serial console to a file, each line prefixed with
// the host time since QEMU started: boot timelines read straight off it.
type consoleLog struct {
	path  string
	start time.Time
	mu    sync.Mutex
	f     *os.File
	copy  io.Writer
	bol   bool // at the beginning of a line
}

func newConsoleLog(path string, copy io.Writer) (*consoleLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &consoleLog{path: path, start: time.Now(), f: f, copy: copy, bol: true}, nil
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.copy != nil {
		c.copy.Write(p)
	}
	var b bytes.Buffer
	for len(p) > 0 {
		if c.bol {
			fmt.Fprintf(&b, "[%8.3f] ", time.Since(c.start).Seconds())
			c.bol = false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			b.Write(p)
			break
		}
		b.Write(p[:i+1])
		p = p[i+1:]
		c.bol = true
	}
	if c.f != nil {
		c.f.Write(b.Bytes())
	}
	return n, nil
}

// mark writes a host-side line into the console log.
func (c *consoleLog) mark(s string) {
	c.mu.Lock()
	prefix := ""
	if !c.bol {
		prefix = "\n"
	}
	c.bol = true
	c.mu.Unlock()
	c.Write([]byte(prefix + s + "\n"))
}

func (c *consoleLog) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}
