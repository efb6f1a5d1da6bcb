package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
)

// Standby restart (VMSpec.Standby, StandbyReset): a second machine of the
// VM is booted ahead, at the lowest priority, from a fresh root overlay
// and without the data disk. Its agent connects under an agent id of its
// own (attachStandby). At a crash the VM's machine is stopped (QMP stop:
// QEMU drains and flushes every request it took from the guest, qcow2
// metadata included) and killed; its data disk is hot-plugged into the
// standby at the same PCI slot, the standby's agent attaches it
// (AttachServer: mount, so the file system recovers, then the server's own
// recovery) and the standby becomes the VM's machine, its boot the VM's new
// boot. Then the next standby boots in the background.

// standbyState is the VM's standby machines (under vm.mu).
type standbyState struct {
	// machines are the standbys booted ahead, oldest first (the last may
	// still be booting).
	machines []*qemuVM
	// booting counts the background starts under way. Several may run at
	// once: at the lowest priority they take what the VMs running tests
	// leave, and one standby boot plus its installs can take longer than
	// a crash cycle.
	booting int
	// err is why the last start failed (nil once one succeeds).
	err error
	// count numbers the standbys (their directories and agent ids).
	count int
	// warmUpFailed is why a warm-up (PrepareServer of a spec without a
	// start gate) failed: later standbys skip it rather than fail, and
	// wait for, each their own.
	warmUpFailed error

	ctx    context.Context // ends background starts at Kill
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// DefaultStandbys is how many standbys a VM keeps booted ahead: two, so
// that the next crash finds one ready even when a standby's boot (at the
// lowest priority, on a busy host) takes longer than a crash cycle.
const DefaultStandbys = 2

func (st *standbyState) byAgent(id string) *qemuVM {
	for _, q := range st.machines {
		if q.agentID == id {
			return q
		}
	}
	return nil
}

func (st *standbyState) bySession(s *session) *qemuVM {
	for _, q := range st.machines {
		if q.standbySess == s {
			return q
		}
	}
	return nil
}

func (st *standbyState) has(q *qemuVM) bool { return slices.Contains(st.machines, q) }

func (st *standbyState) remove(q *qemuVM) bool {
	i := slices.Index(st.machines, q)
	if i < 0 {
		return false
	}
	st.machines = slices.Delete(st.machines, i, i+1)
	return true
}

// ready is the oldest standby that can take over now.
func (st *standbyState) ready() *qemuVM {
	for _, q := range st.machines {
		if q.prepared && !q.sampler && q.standbySess != nil && !q.standbySess.isRetired() {
			return q
		}
	}
	return nil
}

// ErrNoStandby: a standby reset found no standby and could not boot one.
var ErrNoStandby = errors.New("no standby VM")

// attachStandby admits the agent of standby machine q (vm.mu held): its
// own boot guard, its own session, which is the VM's once q takes over.
func (vm *VM) attachStandby(q *qemuVM, stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command], hello *pb.Hello) (*session, error) {
	if old := q.standbySess; old != nil && !old.isRetired() {
		return nil, fmt.Errorf("another stream of standby %s is live (boot %s)", q.agentID, short(old.bootID))
	}
	welcome, err := q.standbyBoots.admit(hello)
	if err != nil {
		return nil, fmt.Errorf("standby %s: %w", q.agentID, err)
	}
	s := newSession(vm, stream, hello.GetBootId())
	s.welcomeKey = welcome
	q.standbySess, q.standbyBoot = s, hello.GetBootId()
	vm.broadcast()
	return s, nil
}

// isStandbySession reports whether s is the session of a standby that has
// not taken over.
func (vm *VM) isStandbySession(s *session) bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.standbys.bySession(s) != nil
}

// standbyDepth is how many standbys the VM keeps booted ahead.
func (vm *VM) standbyDepth() int {
	if vm.spec0.Standbys > 0 {
		return vm.spec0.Standbys
	}
	return DefaultStandbys
}

// startNextStandby boots standbys in the background until the VM has
// standbyDepth of them, ready or booting.
func (vm *VM) startNextStandby() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	st := &vm.standbys
	if st.ctx == nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
	}
	for !vm.killed && st.booting+st.preparedCount() < vm.standbyDepth() {
		st.booting++
		st.count++
		n, ctx := st.count, st.ctx
		st.wg.Go(func() {
			_, err := vm.bootStandby(ctx, n, false)
			vm.mu.Lock()
			st.booting--
			st.err = err
			vm.broadcast()
			vm.mu.Unlock()
			if err != nil {
				vm.logf("VM %s: standby %d: %v", vm.ID, n, err)
			}
		})
	}
}

// preparedCount is how many standbys finished their start.
func (st *standbyState) preparedCount() int {
	n := 0
	for _, q := range st.machines {
		if q.prepared && !q.sampler {
			n++
		}
	}
	return n
}

// bootStandby starts standby n and brings it up to date (agent
// connected, the VM's server builds installed, its server started ahead
// when the spec has a start gate); with sampler, as the VM's sampling
// machine (sampler.go), which never takes over. It is restored from the
// VM's standby template (template.go), made first if there is none or it
// is stale; once making a template failed, it boots.
func (vm *VM) bootStandby(ctx context.Context, n int, sampler bool) (*qemuVM, error) {
	start := time.Now()
	q := &qemuVM{dir: filepath.Join(vm.dir, fmt.Sprintf("standby%d", n)), image: vm.spec0.Image,
		agentID: fmt.Sprintf("%s~standby%d", vm.ID, n), sampler: sampler}
	t, err := vm.standbyTemplate(ctx)
	switch {
	case err == nil:
		q.template = t
		q.installed = t.installs
		if t.spec.GetServer().GetStartGate() != nil {
			// The server waits at its gate in the template; a warm-up
			// (no gate) is not restored with it: QEMU's translations
			// are not part of a saved machine.
			q.serverPrepared = t.spec
		}
	case ctx.Err() != nil:
		return nil, err
	default:
		vm.logf("VM %s: standby %d boots (no standby template: %v)", vm.ID, n, err)
	}
	if err := vm.launchStandby(ctx, q); err != nil {
		return nil, err
	}
	vm.mu.Lock()
	q.prepared = true
	vm.broadcast()
	vm.mu.Unlock()
	how := "booted"
	if q.template != nil {
		how = fmt.Sprintf("restored from template %d", q.template.n)
	}
	vm.logf("VM %s: standby %d ready (%s) after %s (QEMU pid %d)",
		vm.ID, n, how, time.Since(start).Round(time.Millisecond), q.proc.Pid())
	// After prepared is set: a Provision from now on finds q prepared
	// (prepareStandbys), an earlier one is seen here.
	if err := vm.prepareStandbyServer(ctx, q); err != nil {
		// The attach starts the server instead.
		vm.logf("VM %s: %v", vm.ID, err)
	}
	return q, nil
}

// launchStandby starts standby machine q (restored from q.template, or
// booted), waits for its agent and replays the installs it lacks. On
// failure q is gone.
func (vm *VM) launchStandby(ctx context.Context, q *qemuVM) error {
	q.standbyBoots.expect()
	if err := vm.cp.addAgentID(q.agentID, vm); err != nil {
		return err
	}
	vm.mu.Lock()
	if vm.killed {
		vm.mu.Unlock()
		return errors.New("VM was killed")
	}
	vm.standbys.machines = append(vm.standbys.machines, q) // from here on Kill cleans it up
	vm.mu.Unlock()
	fail := func(err error) error {
		vm.dropStandby(q)
		return err
	}
	if err := vm.cp.startMachine(ctx, vm, q, true); err != nil {
		return fail(err)
	}
	if err := vm.waitStandbyAgent(ctx, q); err != nil {
		return fail(err)
	}
	if err := vm.syncStandbyInstalls(ctx, q); err != nil {
		return fail(err)
	}
	return nil
}

// waitStandbyAgent waits until standby q's agent is connected.
func (vm *VM) waitStandbyAgent(ctx context.Context, q *qemuVM) error {
	err := vm.waitOnMachine(ctx, q, "the agent of standby "+q.agentID, func() bool {
		return !vm.standbys.has(q) || (q.standbySess != nil && !q.standbySess.isRetired())
	})
	if err == nil && !vm.isStandby(q) {
		err = fmt.Errorf("standby %s: QEMU exited", q.agentID)
	}
	return err
}

func (vm *VM) isStandby(q *qemuVM) bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.standbys.has(q)
}

// syncStandbyInstalls replays on standby q the installs it has not had.
func (vm *VM) syncStandbyInstalls(ctx context.Context, q *qemuVM) error {
	for {
		vm.mu.Lock()
		s, done := q.standbySess, q.installed
		var next installRecord
		more := done < len(vm.installs)
		if more {
			next = vm.installs[done]
		}
		vm.mu.Unlock()
		if !more {
			return nil
		}
		if s == nil || s.isRetired() {
			// The agent reconnects (e.g. after a missed heartbeat).
			if err := vm.waitStandbyAgent(ctx, q); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(next.path)
		if err != nil {
			return fmt.Errorf("standby %s: install %s: %w", q.agentID, next.name, err)
		}
		x := s.begin()
		err = vm.installOn(ctx, x, next.name, next.version, f)
		x.close()
		f.Close()
		if err != nil {
			return fmt.Errorf("standby %s: %w", q.agentID, err)
		}
		vm.mu.Lock()
		q.installed = done + 1
		vm.mu.Unlock()
	}
}

// prepareStandbyServer has standby q prepare the VM's server
// (PrepareServer) when the VM has a provisioning and q has not done so
// yet: a spec with a start gate is started ahead and waits at its gate
// (its initialisation done), touching nothing on the data disk until the
// attach releases it; any other is warmed up, run once on a throwaway
// directory of q's root disk and killed (its code then in q's page cache
// and translated). It returns once that is done or a call already under
// way is. A failure costs only the gain: the attach starts the server.
func (vm *VM) prepareStandbyServer(ctx context.Context, q *qemuVM) error {
	vm.mu.Lock()
	spec, s := vm.spec, q.standbySess
	if spec == nil || q.serverPrepared == spec || s == nil || s.isRetired() {
		vm.mu.Unlock()
		return nil
	}
	warmUp := spec.GetServer().GetStartGate() == nil
	if warmUp && vm.standbys.warmUpFailed != nil {
		q.serverPrepared = spec // the attach starts it cold
		vm.mu.Unlock()
		return nil
	}
	if q.serverPreparing == spec {
		vm.mu.Unlock()
		return vm.waitOnMachine(ctx, q, "the server started ahead on standby "+q.agentID, func() bool { return q.serverPreparing != spec })
	}
	q.serverPreparing = spec
	vm.mu.Unlock()
	res, err := s.call(ctx, &pb.Command{Cmd: &pb.Command_PrepareServer{PrepareServer: &pb.PrepareServer{Spec: spec}}})
	vm.mu.Lock()
	q.serverPreparing, q.serverPrepared = nil, spec // not retried on failure
	if err != nil && warmUp && ctx.Err() == nil {
		vm.standbys.warmUpFailed = err
	}
	vm.broadcast()
	vm.mu.Unlock()
	if err != nil && warmUp {
		return fmt.Errorf("standby %s: warm the server up (no more warm-ups on this VM; the attach starts it cold): %w", q.agentID, err)
	}
	if err != nil {
		return fmt.Errorf("standby %s: start the server ahead: %w", q.agentID, err)
	}
	if p := res.GetProvision(); p.GetWarmed() {
		vm.logf("VM %s: standby %s warmed server %s up (ran it on a throwaway directory in %.1fs)",
			vm.ID, q.agentID, spec.GetKind(), p.GetSeconds())
	} else {
		vm.logf("VM %s: standby %s started server %s ahead (pid %d, at its start gate after %.1fs)",
			vm.ID, q.agentID, spec.GetKind(), p.GetPid(), p.GetSeconds())
	}
	return nil
}

// prepareStandbys has every standby that is up start the VM's server
// ahead, in the background, and starts standbys up to the VM's depth
// (after Provision or Adopt; a standby that starts later prepares in
// bootStandby). Standbys start here, not with the VM: their template then
// has the VM's installs and its server started ahead.
func (vm *VM) prepareStandbys() {
	if !vm.spec0.Standby {
		return
	}
	vm.startNextStandby()
	vm.mu.Lock()
	defer vm.mu.Unlock()
	st := &vm.standbys
	if vm.killed || st.ctx == nil {
		return
	}
	for _, q := range st.machines {
		if !q.prepared {
			continue // bootStandby does it
		}
		ctx := st.ctx
		st.wg.Go(func() {
			if err := vm.prepareStandbyServer(ctx, q); err != nil {
				vm.logf("VM %s: %v", vm.ID, err)
			}
		})
	}
}

// readyStandby waits for a standby whose agent is connected and which has
// every install, booting one if none is on the way.
func (vm *VM) readyStandby(ctx context.Context) (*qemuVM, error) {
	waitStart := time.Now()
	for {
		vm.startNextStandby()
		var q *qemuVM
		var failed error
		err := vm.waitFor(ctx, "a standby", func() bool {
			st := &vm.standbys
			if q = st.ready(); q != nil {
				return true
			}
			// A prepared standby may be reconnecting its agent.
			if st.booting == 0 && len(st.machines) == 0 {
				failed = st.err
				return true
			}
			return false
		})
		if err != nil {
			return nil, err
		}
		if q == nil {
			if failed == nil {
				failed = errors.New("standby QEMU exited")
			}
			return nil, fmt.Errorf("%w: %w", ErrNoStandby, failed)
		}
		// Installs made since the standby came up.
		if err := vm.syncStandbyInstalls(ctx, q); err != nil {
			vm.logf("VM %s: standby %s: %v; booting another", vm.ID, q.agentID, err)
			vm.dropStandby(q)
			continue
		}
		// The server started ahead: a standby is ready once it waits at
		// its gate (normally done in the background by then).
		if err := vm.prepareStandbyServer(ctx, q); err != nil {
			vm.logf("VM %s: %v", vm.ID, err)
		}
		if w := time.Since(waitStart); w > 100*time.Millisecond {
			vm.logf("VM %s: waited %s for the standby", vm.ID, w.Round(time.Millisecond))
		}
		return q, nil
	}
}

// WaitStandby waits until a standby is ready to take over (VMSpec.Standby),
// starting one if none is on the way: a caller that crashes the VM at a
// moment of its choosing waits here first, so that StandbyReset's
// timeline holds no wait for a standby.
func (vm *VM) WaitStandby(ctx context.Context) error {
	if !vm.spec0.Standby {
		return errors.New("wait for a standby: the VM was not started with VMSpec.Standby")
	}
	_, err := vm.readyStandby(ctx)
	return err
}

// dropStandby kills standby q.
func (vm *VM) dropStandby(q *qemuVM) {
	vm.mu.Lock()
	vm.standbys.remove(q)
	s := q.standbySess
	vm.mu.Unlock()
	if s != nil {
		s.retire(errors.New("standby dropped"))
	}
	q.cleanup()
}

// stopStandbys ends background starts and kills the standbys (Kill).
func (vm *VM) stopStandbys() {
	vm.mu.Lock()
	st := &vm.standbys
	cancel, qs := st.cancel, slices.Clone(st.machines)
	vm.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, q := range qs {
		q.cleanup()
	}
	st.wg.Wait()
	// A start that registered its machine after the copy above.
	vm.mu.Lock()
	qs = st.machines
	st.machines = nil
	vm.mu.Unlock()
	for _, q := range qs {
		q.cleanup()
	}
}

// StandbyOption configures a StandbyReset.
type StandbyOption func(*standbyOptions)

type standbyOptions struct {
	crashState func(ctx context.Context, crashed qemu.Disk) (qemu.Disk, error)
}

// WithCrashState lets the caller build the crash state once the crashed
// machine is dead and before the standby sees the disk: f gets the data
// disk as the crashed machine left it and returns the disk to bring up
// (the same, or e.g. one rebuilt from a block log as of a chosen flush).
// The returned disk stays the VM's data disk.
func WithCrashState(f func(ctx context.Context, crashed qemu.Disk) (qemu.Disk, error)) StandbyOption {
	return func(o *standbyOptions) { o.crashState = f }
}

// DataDisk is the VM's data disk file as its machine uses it now.
func (vm *VM) DataDisk() qemu.Disk {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.dataDisk
}

// StandbyReset crashes the VM and brings its data disk up on the standby
// machine: QMP stop (QEMU completes and flushes every write the guest
// handed it, as a system_reset keeps them), kill the crashed QEMU, hot-plug
// the data disk into the standby, tell its agent to attach it (mount with
// file system recovery, start the server), and wait as HardReset does for
// the new boot's server to be ready and to answer from the host (through
// the VM's proxy ports, which now lead to the standby). Then the next
// standby boots in the background. It needs VMSpec.Standby; a failure is a
// *ResetError like HardReset's.
func (vm *VM) StandbyReset(ctx context.Context, opts ...StandbyOption) (ResetResult, error) {
	var o standbyOptions
	for _, opt := range opts {
		opt(&o)
	}
	var res ResetResult
	old := vm.machine()
	if old == nil || !vm.spec0.Standby {
		return res, errors.New("standby reset: the VM was not started with VMSpec.Standby")
	}
	sb, err := vm.readyStandby(ctx)
	if err != nil {
		return res, vm.resetFailed(&res, ErrVMNotBack, err)
	}
	res.Restored = sb.template != nil
	tl := &res.Timeline
	tl.Sent = time.Now()
	old.console.Mark("==== crashrig: crash: QMP stop, kill QEMU; the data disk moves to " + sb.agentID + " ====")
	sb.console.Mark("==== crashrig: taking over the data disk of VM " + vm.ID + " ====")
	// Stop: QEMU drains every request the guest submitted and flushes its
	// block layer (qcow2 L2 and refcount caches) to the host file; nothing
	// runs in the guest after it.
	if err := vm.qmpRunOn(ctx, old, `{"execute":"stop"}`); err != nil {
		return res, vm.resetFailed(&res, ErrVMNotBack, fmt.Errorf("QMP stop: %w", err))
	}
	tl.Acked = time.Since(tl.Sent)

	oldBoot, oldSess := vm.takeOver(sb)
	if oldSess != nil {
		oldSess.retire(errReset)
	}
	old.cleanup() // kills QEMU, its monitor, its files (not the data disk)

	disk := vm.DataDisk()
	if o.crashState != nil {
		d, err := o.crashState(ctx, disk)
		if err != nil {
			return res, vm.resetFailed(&res, ErrVMNotBack, fmt.Errorf("crash state: %w", err))
		}
		disk = d
	}
	return vm.attachOn(ctx, sb, disk, oldBoot, res)
}

// takeOver makes standby sb the VM's machine: the old machine's exit is no
// longer the VM's (a new down signal), and the standby's boot is the VM's
// new boot (its agent has been connected all along). It returns the
// replaced boot and its session.
func (vm *VM) takeOver(sb *qemuVM) (oldBoot string, oldSess *session) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	oldBoot, oldSess = vm.bootID, vm.sess
	vm.qemu, vm.down = sb, newDownSignal()
	vm.standbys.remove(sb)
	vm.sess = sb.standbySess
	vm.boots = sb.standbyBoots
	vm.bootID, vm.helloAt = sb.standbyBoot, time.Now()
	vm.readyBoot = ""
	vm.broadcast()
	return oldBoot, oldSess
}

// attachOn brings the VM's data disk up on sb, which took over: hot-plug
// disk (it becomes the VM's data disk), full priority, AttachServer (the
// agent mounts it, so the file system recovers, and starts or releases the
// server), then HardReset's end (ServerReady, a query from the host).
// Then the next standby starts.
func (vm *VM) attachOn(ctx context.Context, sb *qemuVM, disk qemu.Disk, oldBoot string, res ResetResult) (ResetResult, error) {
	vm.mu.Lock()
	vm.dataDisk = disk
	vm.mu.Unlock()
	cmds, err := qemu.HotplugCommands(disk, "datadisk", qemu.DataDiskAddr)
	if err != nil {
		return res, vm.resetFailed(&res, ErrVMNotBack, err)
	}
	for _, c := range cmds {
		if err := vm.qmpRunOn(ctx, sb, string(c)); err != nil {
			return res, vm.resetFailed(&res, ErrVMNotBack, fmt.Errorf("hot-plug data disk %s: %w", disk.Path, err))
		}
	}
	// Full priority now that it carries the server.
	if err := sb.proc.SetPriority(0, false); err != nil {
		vm.logf("VM %s: raise the priority of QEMU pid %d: %v", vm.ID, sb.proc.Pid(), err)
	}
	vm.mu.Lock()
	spec := vm.spec
	vm.mu.Unlock()
	// The next standby starts now, at the lowest priority.
	defer vm.startNextStandby()
	if spec == nil {
		return vm.comeBack(ctx, oldBoot, res)
	}
	r, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_AttachServer{AttachServer: &pb.AttachServer{Spec: spec}}})
	if err != nil {
		reason := ErrServerNotRecovered
		if vm.vmGone() {
			reason = ErrVMNotBack
		}
		return res, vm.resetFailed(&res, reason, fmt.Errorf("attach the data disk: %w", err))
	}
	res.Prestarted = r.GetProvision().GetPrestarted()
	if !res.Prestarted && spec.GetServer().GetStartGate() != nil {
		vm.logf("VM %s: the standby had no server started ahead; its agent started one", vm.ID)
	}
	return vm.comeBack(ctx, oldBoot, res)
}

// qmpRunOn runs a QMP command on machine q, giving up when ctx ends or q's
// QEMU exits.
func (vm *VM) qmpRunOn(ctx context.Context, q *qemuVM, cmd string) error {
	// The VM's down signal is q's only while q is the VM's machine (not
	// for a standby or the sampling machine, which run on while a power
	// cut has the VM's machine down).
	var vmDown <-chan struct{}
	if q == vm.machine() {
		vmDown = vm.qemuDone()
	}
	errc := make(chan error, 1)
	go func() {
		_, err := q.mon.Run([]byte(cmd))
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-q.proc.Done():
		return errors.New("QEMU exited")
	case <-vmDown:
		// The VM is down (its QEMU exited, or QMP reported it stopped on
		// a host I/O error).
		if why := vm.failure(); why != nil {
			return why
		}
		return errors.New("QEMU exited")
	}
}

// startProxies makes the host ports that follow the VM's machine.
func (vm *VM) startProxies(ctx context.Context) error {
	backend := func(port func(*qemuVM) int) func() (string, bool) {
		return func() (string, bool) {
			q := vm.machine()
			if q == nil {
				return "", false
			}
			return fmt.Sprintf("127.0.0.1:%d", port(q)), true
		}
	}
	var err error
	if vm.mysqlProxy, err = newPortProxy(ctx, backend(func(q *qemuVM) int { return q.mysqlPort }), vm.logf); err != nil {
		return err
	}
	vm.onCleanup(vm.mysqlProxy.close)
	if vm.sshProxy, err = newPortProxy(ctx, backend(func(q *qemuVM) int { return q.sshPort }), vm.logf); err != nil {
		return err
	}
	vm.onCleanup(vm.sshProxy.close)
	return nil
}

// StandbysReady is how many standbys are up with the VM's server prepared
// (started ahead or warmed up, PrepareServer), with nothing left to do in
// the background before they can take over.
func (vm *VM) StandbysReady() int {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	n := 0
	for _, q := range vm.standbys.machines {
		if q.prepared && !q.sampler && q.serverPreparing == nil && (vm.spec == nil || q.serverPrepared == vm.spec) {
			n++
		}
	}
	return n
}

// StandbyQEMUPids are the QEMU process ids of the standbys booted ahead.
func (vm *VM) StandbyQEMUPids() []int {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	var pids []int
	for _, q := range vm.standbys.machines {
		if q.proc != nil {
			pids = append(pids, q.proc.Pid())
		}
	}
	return pids
}
