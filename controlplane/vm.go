package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/serverkind"
)

// VM is one VM (or, in unit tests, one agent identity) of the control plane.
type VM struct {
	ID    string
	cp    *ControlPlane
	token string

	// qemu is the machine that runs the VM (nil for agent-only VMs); a
	// standby reset replaces it (under mu; read it with machine()).
	qemu *qemuVM
	// StartVM's spec and accelerator, for standby machines.
	spec0 VMSpec
	accel qemu.Accel
	// dir holds the VM's files; each standby has a directory in it.
	dir string
	// dataDisk is the data disk; a standby reset may be handed another
	// file (the power-cut nemesis rebuilds one).
	dataDisk qemu.Disk
	// powerCut is the logged data disk's state (VMSpec.LogDataDisk; nil:
	// a plain data disk), under mu.
	powerCut *powerCutDisk
	// cleanupList undoes StartVM's own steps (directory, data disk,
	// proxies) after the machines are gone.
	cleanupList
	standbys standbyState
	// templates is the saved standby that standbys are restored from
	// (template.go).
	templates templateState
	// samplers are the sampling machines (VMSpec.Sampler, sampler.go),
	// each also one of standbys.machines.
	samplers samplerState
	// provisioned is the data disk's write-log position once Provision
	// made the provisioning durable: power cuts are cut at or after it.
	provisioned LogPosition
	// sshProxy and mysqlProxy (standby VMs only) keep the host addresses
	// stable while the machine behind them changes.
	sshProxy, mysqlProxy *portProxy
	// installs are replayed on every standby before it can take over.
	installs []installRecord

	events chan Event

	mu        sync.Mutex
	boots     bootGuard
	sess      *session
	bootID    string
	readyBoot string // boot in which the server reported ready (and did not exit since)
	// downBoot and downWhy: the server failed in that boot (exited, or the
	// agent could not bring it back), so waiting for it to be ready is futile.
	downBoot, downWhy string
	spec              *pb.ProvisionServer
	changed           chan struct{} // closed and replaced at every state change
	// helloAt (the first hello of the latest boot) and readyAt time the
	// latest boot, for reset timelines; ready is the agent's latest
	// ServerReady, received in boot readyEventBoot (a hello may say the
	// server is ready before its ServerReady arrives).
	helloAt, readyAt time.Time
	ready            *pb.ServerReady
	readyEventBoot   string
	killed           bool
	// failed ends every wait: QEMU stopped the VM (host disk full).
	failed error
	// down is closed when the VM can no longer answer: QEMU exited, or it
	// failed (WaitAnswer's done). A power cut starts a new QEMU, and with
	// it a new down signal.
	down *downSignal
}

// downSignal is closed once, when one QEMU of a VM is gone.
type downSignal struct {
	ch   chan struct{}
	once sync.Once
}

func newDownSignal() *downSignal { return &downSignal{ch: make(chan struct{})} }

func (d *downSignal) close() { d.once.Do(func() { close(d.ch) }) }

func (vm *VM) logf(format string, args ...any) { vm.cp.logf(format, args...) }

// Token is the secret the VM's agent presents.
func (vm *VM) Token() string { return vm.token }

// Events delivers unexpected events (server crash, error log line). Tests
// turn them into failures; events that nobody reads are dropped (and
// logged) once 256 are queued.
func (vm *VM) Events() <-chan Event { return vm.events }

// BootID is the boot id of the agent's latest hello.
func (vm *VM) BootID() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.bootID
}

// qemuDone is closed when the current QEMU exits (agent-only VMs: never).
func (vm *VM) qemuDone() <-chan struct{} {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.down.ch
}

// failure is why QEMU stopped the VM (nil if it did not).
func (vm *VM) failure() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.failed
}

// markDown closes vm.down: QEMU exited or QMP reported the VM stopped on a
// host I/O error. Safe to call more than once.
func (vm *VM) markDown() {
	vm.mu.Lock()
	d := vm.down
	vm.mu.Unlock()
	d.close()
}

// broadcast wakes waiters; vm.mu must be held.
func (vm *VM) broadcast() {
	close(vm.changed)
	vm.changed = make(chan struct{})
}

// waitFor waits until cond (called with vm.mu held) is true; it gives up
// when the VM's current machine goes down.
func (vm *VM) waitFor(ctx context.Context, what string, cond func() bool) error {
	return vm.waitUntil(ctx, what, vm.qemuDone, "QEMU exited", cond)
}

// waitOnMachine is waitFor for a wait that belongs to machine q rather than
// to the VM's current machine (a standby's or the sampling machine's, also
// while a power cut has the VM's own machine down): it ends when q's QEMU
// exits.
func (vm *VM) waitOnMachine(ctx context.Context, q *qemuVM, what string, cond func() bool) error {
	down := func() <-chan struct{} {
		if q.proc == nil {
			return nil // never, before q's QEMU started
		}
		return q.proc.Done()
	}
	return vm.waitUntil(ctx, what, down, "its QEMU exited", cond)
}

// waitUntil waits until cond (called with vm.mu held) is true, giving up
// when the VM fails or is killed, ctx ends or down() is closed.
func (vm *VM) waitUntil(ctx context.Context, what string, down func() <-chan struct{}, downWhy string, cond func() bool) error {
	for {
		vm.mu.Lock()
		ok, ch, killed, failed := cond(), vm.changed, vm.killed, vm.failed
		vm.mu.Unlock()
		if failed != nil {
			return fmt.Errorf("VM %s: waiting for %s: %w", vm.ID, what, failed)
		}
		if ok {
			return nil
		}
		if killed {
			return fmt.Errorf("VM %s: waiting for %s: VM was killed", vm.ID, what)
		}
		select {
		case <-ch:
		case <-down():
			return fmt.Errorf("VM %s: waiting for %s: %s", vm.ID, what, downWhy)
		case <-ctx.Done():
			return fmt.Errorf("VM %s: waiting for %s: %w", vm.ID, what, ctx.Err())
		}
	}
}

// attach makes s the VM's session, unless another one is live: a token
// belongs to one VM, and one VM has one agent stream.
func (vm *VM) attach(stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command], hello *pb.Hello) (*session, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.killed {
		return nil, errors.New("VM was killed")
	}
	if q := vm.standbys.byAgent(hello.GetVmId()); q != nil {
		return vm.attachStandby(q, stream, hello)
	}
	if vm.qemu != nil && hello.GetVmId() != vm.qemu.agentID {
		return nil, fmt.Errorf("agent of machine %s, which runs neither VM %s nor its standby", hello.GetVmId(), vm.ID)
	}
	if old := vm.sess; old != nil && !old.isRetired() {
		return nil, fmt.Errorf("another stream of this VM is live (boot %s)", short(old.bootID))
	}
	welcome, err := vm.boots.admit(hello)
	if err != nil {
		return nil, err
	}
	s := newSession(vm, stream, hello.GetBootId())
	s.welcomeKey = welcome
	vm.sess = s
	if vm.bootID != hello.GetBootId() {
		vm.readyBoot = ""
		vm.helloAt = time.Now()
	}
	vm.bootID = hello.GetBootId()
	if hello.GetServer().GetReady() {
		vm.readyBoot = vm.bootID
	}
	if vm.spec != nil && !hello.GetServer().GetProvisioned() {
		// Its agent found no provisioning on the root disk: no server
		// will come back in this boot.
		vm.downBoot, vm.downWhy = vm.bootID, "the agent of the new boot has no provisioning (the spec the agent keeps on the root disk did not survive the reset)"
	}
	vm.broadcast()
	return s, nil
}

func (vm *VM) detach(s *session) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.sess == s {
		vm.sess = nil
		vm.broadcast()
	}
	if q := vm.standbys.bySession(s); q != nil {
		q.standbySess = nil
		vm.broadcast()
	}
}

// retire ends the current session on purpose.
func (vm *VM) retire(why error) {
	vm.mu.Lock()
	s := vm.sess
	vm.mu.Unlock()
	if s != nil {
		s.retire(why)
	}
}

// retireBoot ends the current session if it belongs to boot: a reset
// retires the boot it wiped out, never the new boot's stream that may
// already have attached.
func (vm *VM) retireBoot(boot string, why error) {
	vm.mu.Lock()
	s := vm.sess
	vm.mu.Unlock()
	if s != nil && s.bootID == boot {
		s.retire(why)
	}
}

// WaitAgent waits until the VM's agent is connected and returns its boot id.
func (vm *VM) WaitAgent(ctx context.Context) (string, error) {
	var boot string
	err := vm.waitFor(ctx, "the agent", func() bool {
		if vm.sess != nil && !vm.sess.isRetired() {
			boot = vm.bootID
			return true
		}
		return false
	})
	return boot, err
}

// begin starts a command on the live session (waiting for the agent).
func (vm *VM) begin(ctx context.Context) (*exchange, error) {
	var s *session
	err := vm.waitFor(ctx, "the agent", func() bool {
		if vm.sess != nil && !vm.sess.isRetired() {
			s = vm.sess
			return true
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return s.begin(), nil
}

// call runs a command that has one result.
func (vm *VM) call(ctx context.Context, c *pb.Command) (*pb.Result, error) {
	x, err := vm.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer x.close()
	if err := x.send(c); err != nil {
		return nil, err
	}
	return x.recv(ctx)
}

// ServerSpec describes the server to provision.
type ServerSpec struct {
	// Kind names a built-in target (serverkind.MariaDB,
	// serverkind.Bundled); Server, when set, is the target's spec instead
	// (a spec file) and Kind is its name.
	Kind    string
	Server  *serverkind.Spec
	Version string // installed build (uploaded servers)
	// FSType of the data disk (default ext4), extra mkfs options and mount
	// options, e.g. "data=journal" (nodelalloc is added for it).
	FSType       string
	MkfsOptions  []string
	MountOptions string
	// RootPassword defaults to a random one; the DSN carries it.
	RootPassword string
	// User and Password name an extra account; the DSN uses it when set.
	User, Password string
	Database       string
	// TransactionIsolation, e.g. "SERIALIZABLE" (MariaDB).
	TransactionIsolation string
	// Config lines for the server configuration (MariaDB: my.cnf lines
	// under [mysqld]; Bundled: extra command-line flags).
	Config []string
	// ErrorLogPatterns are regular expressions; matching server log lines
	// become Events.
	ErrorLogPatterns []string
	// Env entries (NAME=VALUE) are added to the server's environment (the
	// bundled server's -unsafe-fault flags need
	// CRASHRIG_UNSAFE_FAULTS=I_UNDERSTAND).
	Env []string
	// IOFaults puts the data disk under a device-mapper device so that
	// InjectFault can fail or slow its I/O (iofault.go).
	IOFaults bool
}

func (s ServerSpec) proto() (*pb.ProvisionServer, error) {
	server := s.Server
	if server == nil {
		var err error
		if server, err = serverkind.Builtin(s.Kind); err != nil {
			return nil, err
		}
	}
	s.Kind = server.Name
	if s.RootPassword == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s.RootPassword = hex.EncodeToString(b)
	}
	return &pb.ProvisionServer{Kind: s.Kind, Version: s.Version, FsType: s.FSType, MkfsOptions: s.MkfsOptions,
		MountOptions: s.MountOptions, RootPassword: s.RootPassword, User: s.User, Password: s.Password,
		Database: s.Database, TransactionIsolation: s.TransactionIsolation, Config: s.Config,
		ErrorLogPatterns: s.ErrorLogPatterns, Env: s.Env, IoFaults: s.IOFaults, Server: server.Definition()}, nil
}

// Provision formats the data disk, starts the server and returns a DSN
// that reaches it from the host, checked by a ping.
func (vm *VM) Provision(ctx context.Context, spec ServerSpec) (string, error) {
	ps, err := spec.proto()
	if err != nil {
		return "", err
	}
	res, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_ProvisionServer{ProvisionServer: ps}})
	if err != nil {
		return "", fmt.Errorf("VM %s: provision %s: %w", vm.ID, ps.GetKind(), err)
	}
	vm.mu.Lock()
	vm.spec = ps
	vm.mu.Unlock()
	vm.logf("VM %s: provisioned %s in %.1fs (pid %d)", vm.ID, ps.GetKind(), res.GetProvision().GetSeconds(), res.GetProvision().GetPid())
	if vm.spec0.LogDataDisk {
		// A power cut in the middle of provisioning (mkfs, the server's
		// initialisation) is no crash of a running server: everything up to
		// here is made durable, and no cut goes before it.
		if err := vm.Sync(ctx); err != nil {
			return "", err
		}
		pos, err := vm.WriteLogPosition()
		if err != nil {
			return "", fmt.Errorf("VM %s: write-log position after provisioning: %w", vm.ID, err)
		}
		vm.mu.Lock()
		vm.provisioned = pos
		vm.mu.Unlock()
	}
	vm.prepareMachines()
	dsn := vm.DSN()
	if dsn == "" {
		return "", nil // agent-only VM: no port forward to check
	}
	if err := serverkind.WaitAnswer(ctx, dsn, vm.qemuDone()); err != nil {
		if why := vm.failure(); why != nil {
			err = why
		}
		return "", fmt.Errorf("VM %s: provisioned server does not answer from the host: %w", vm.ID, err)
	}
	return dsn, nil
}

// DSN reaches the provisioned server from the host ("" before Provision).
func (vm *VM) DSN() string {
	vm.mu.Lock()
	spec := vm.spec
	vm.mu.Unlock()
	q := vm.machine()
	if spec == nil || q == nil {
		return ""
	}
	addr := fmt.Sprintf("127.0.0.1:%d", q.mysqlPort)
	if vm.mysqlProxy != nil {
		addr = vm.mysqlProxy.addr()
	}
	return serverkind.ClientDSN(spec, addr)
}

// Install streams a server build (e.g. the crashrig-sqlserver binary at
// path) to the agent in 1 MiB chunks; the agent checks the SHA-256 and
// installs it atomically.
func (vm *VM) Install(ctx context.Context, name, version, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	defer f.Close()
	x, err := vm.begin(ctx)
	if err != nil {
		return err
	}
	defer x.close()
	if err := vm.installOn(ctx, x, name, version, f); err != nil {
		return err
	}
	vm.mu.Lock()
	vm.installs = append(vm.installs, installRecord{name: name, version: version, path: path})
	vm.mu.Unlock()
	return nil
}

// installRecord is an Install, replayed on every standby.
type installRecord struct{ name, version, path string }

// installOn streams the build in f through the command x.
func (vm *VM) installOn(ctx context.Context, x *exchange, name, version string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); ; {
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return fmt.Errorf("install %s: read: %w", name, err)
		}
		h.Write(buf[:n])
		last := off+int64(n) >= size
		c := &pb.InstallServer{Name: name, Version: version, Offset: off, Data: buf[:n], Last: last}
		if last {
			c.Sha256 = hex.EncodeToString(h.Sum(nil))
		}
		if err := x.send(&pb.Command{Cmd: &pb.Command_InstallServer{InstallServer: c}}); err != nil {
			return err
		}
		off += int64(n)
		if last {
			break
		}
		// An answer before the last chunk is the agent's error.
		select {
		case r := <-x.ch:
			return fmt.Errorf("VM %s: install %s: agent: %s", vm.ID, name, r.GetError())
		default:
		}
	}
	res, err := x.recv(ctx)
	if err != nil {
		return fmt.Errorf("VM %s: install %s %s: %w", vm.ID, name, version, err)
	}
	vm.logf("VM %s: installed %s (%d bytes, sha256 %s)", vm.ID, res.GetInstall().GetPath(), res.GetInstall().GetSize(), short(res.GetInstall().GetSha256()))
	return nil
}

// StopServer stops the server (cleanly or with SIGKILL); deleteData also
// deletes its database and the provisioning.
func (vm *VM) StopServer(ctx context.Context, clean, deleteData bool) error {
	_, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_StopServer{StopServer: &pb.StopServer{Clean: clean, DeleteData: deleteData}}})
	if err != nil {
		return fmt.Errorf("VM %s: stop server: %w", vm.ID, err)
	}
	vm.mu.Lock()
	vm.readyBoot = ""
	if deleteData {
		vm.spec = nil
	}
	vm.mu.Unlock()
	return nil
}

// Sync flushes every file system in the guest (sync(2)).
func (vm *VM) Sync(ctx context.Context) error {
	if _, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_SyncFilesystems{SyncFilesystems: &pb.SyncFilesystems{}}}); err != nil {
		return fmt.Errorf("VM %s: sync: %w", vm.ID, err)
	}
	return nil
}

// Exec runs argv in the guest and returns its exit code and output.
func (vm *VM) Exec(ctx context.Context, argv ...string) (int, string, error) {
	res, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_Exec{Exec: &pb.Exec{Argv: argv, TimeoutSeconds: execTimeout(ctx)}}})
	if err != nil {
		return -1, "", fmt.Errorf("VM %s: exec %v: %w", vm.ID, argv, err)
	}
	return int(res.GetExec().GetExitCode()), string(res.GetExec().GetOutput()), nil
}

// KillServer kills the server with SIGKILL behind the agent's back, as a
// crash would: the agent reports it as an unexpected exit.
func (vm *VM) KillServer(ctx context.Context) error {
	code, out, err := vm.Exec(ctx, "sh", "-c", "kill -9 $(cat "+serverkind.GuestPIDFile+")")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("VM %s: kill -9 server: exit %d: %s", vm.ID, code, out)
	}
	return nil
}

// Collect writes a tar stream of paths in the guest to dst (no paths: the
// server's data directory and logs and the agent's log).
func (vm *VM) Collect(ctx context.Context, paths []string, dst io.Writer) error {
	x, err := vm.begin(ctx)
	if err != nil {
		return err
	}
	defer x.close()
	if err := x.send(&pb.Command{Cmd: &pb.Command_CollectFiles{CollectFiles: &pb.CollectFiles{Paths: paths}}}); err != nil {
		return err
	}
	for {
		r, err := x.recv(ctx)
		if err != nil {
			return fmt.Errorf("VM %s: collect: %w", vm.ID, err)
		}
		if _, err := dst.Write(r.GetChunk().GetData()); err != nil {
			return fmt.Errorf("VM %s: collect: %w", vm.ID, err)
		}
		if !r.GetMore() {
			return nil
		}
	}
}
