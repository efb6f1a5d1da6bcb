package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/crashrig/crashrig/blocklog"
	"github.com/crashrig/crashrig/crashstate"
	"github.com/crashrig/crashrig/qemu"
)

// powerCutDisk is a logged data disk. Each QEMU of the VM (a generation)
// runs on a qcow2 overlay over a raw state file, which QEMU never writes,
// and logs to its own file: state g and log g build state g+1.
type powerCutDisk struct {
	gen int
	// state, overlay and log of the running generation.
	state, overlay, log string
	// prevState and prevLog: the generation the last cut ended (its base
	// image and log), kept until the next cut for artifacts and replay.
	prevState, prevLog string
}

func (d *powerCutDisk) paths(dir string, gen int) (state, overlay, log string) {
	return filepath.Join(dir, fmt.Sprintf("data-%d.raw", gen)),
		filepath.Join(dir, fmt.Sprintf("data-%d.qcow2", gen)),
		filepath.Join(dir, fmt.Sprintf("data-%d.log", gen))
}

// createLoggedDataDisk makes generation 0 in vm.dir: an empty sparse raw
// state of size (or a copy of VMSpec.DataDiskState), its overlay and an
// empty log.
func (vm *VM) createLoggedDataDisk(ctx context.Context, size string) error {
	spec := vm.spec0
	d := &powerCutDisk{}
	state, _, _ := d.paths(vm.dir, 0)
	if spec.DataDiskState != "" {
		if _, err := crashstate.CopyImage(state, spec.DataDiskState); err != nil {
			return fmt.Errorf("data disk state %s: %w", spec.DataDiskState, err)
		}
	} else if err := qemu.CreateRawDisk(ctx, state, size); err != nil {
		return err
	}
	if err := d.startGen(ctx, &sync.Mutex{}, vm.dir, 0); err != nil {
		return err
	}
	vm.mu.Lock()
	vm.powerCut = d
	vm.dataDisk = d.disk()
	vm.mu.Unlock()
	return nil
}

// disk is the running generation's data disk.
func (d *powerCutDisk) disk() qemu.Disk {
	return qemu.Disk{Path: d.overlay, Format: "qcow2", WriteLog: d.log}
}

// startGen makes generation gen's overlay over its state and its empty
// log, and makes it the running generation under mu (WriteLogPosition
// reads it concurrently).
func (d *powerCutDisk) startGen(ctx context.Context, mu *sync.Mutex, dir string, gen int) error {
	state, overlay, log := d.paths(dir, gen)
	if err := qemu.CreateOverlayOnRaw(ctx, state, overlay); err != nil {
		return err
	}
	if err := blocklog.CreateLog(log); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	d.prevState, d.prevLog = d.state, d.log
	d.gen, d.state, d.overlay, d.log = gen, state, overlay, log
	return nil
}

// LogPosition is a position in a logged data disk's write log: Entries
// log entries of generation Gen (the QEMU that ran between two power
// cuts; 0 is the first).
type LogPosition struct {
	Gen     int    `json:"gen"`
	Entries uint64 `json:"entries"`
}

// ErrNoWriteLog: the VM's data disk is not logged (VMSpec.LogDataDisk).
var ErrNoWriteLog = errors.New("the VM's data disk has no write log")

// WriteLogPosition reads the data disk log's entry count: the position
// just after the last FLUSH QEMU completed. Read right after a client saw
// an acknowledgement, it is at or after the flush that made the ack's
// writes durable, so every cut at or after it must hold them.
func (vm *VM) WriteLogPosition() (LogPosition, error) {
	vm.mu.Lock()
	d := vm.powerCut
	var pos LogPosition
	var path string
	if d != nil {
		pos.Gen, path = d.gen, d.log
	}
	vm.mu.Unlock()
	if d == nil {
		return LogPosition{}, ErrNoWriteLog
	}
	f, err := os.Open(path)
	if err != nil {
		return pos, fmt.Errorf("VM %s: write log position: %w", vm.ID, err)
	}
	defer f.Close()
	sb, err := blocklog.ReadSuper(f)
	if err != nil {
		return pos, fmt.Errorf("VM %s: write log position: %w", vm.ID, err)
	}
	pos.Entries = sb.NrEntries
	return pos, nil
}

// PowerCutResult is what a power cut did: the restart's timeline (Sent is
// the SIGKILL, Acked QEMU gone) and the crash state it booted.
type PowerCutResult struct {
	ResetResult
	// Gen is the log generation the cut ended; the new QEMU logs Gen+1.
	Gen int
	// Choices hold the cut point (Choices.Cut, a position in log Gen) and
	// the dropped and torn writes: with Base and Log they rebuild the
	// state byte for byte (crashstate.Rebuild).
	Choices crashstate.Choices
	Build   crashstate.Result
	// Built is how long scanning the log and building the state took.
	Built time.Duration
	// Base and Log are generation Gen's base image and log. They stay
	// until the next power cut (or Kill): copy them to keep them.
	Base, Log string
}

// PowerCutOption configures PowerCut.
type PowerCutOption func(*powerCutConfig)

type powerCutConfig struct {
	cut     func(ix *crashstate.Index, seed int64) uint64
	choose  []crashstate.ChooseOption
	samples int
	visit   func(ctx context.Context, s Sample) error
}

// Sample is an extra crash state of a power cut, booted and recovered
// before the state the VM continues on (WithSamples).
type Sample struct {
	// Gen and Choices.Cut: the cut point in the cut's log generation.
	Gen     int
	Choices crashstate.Choices
	Build   crashstate.Result
	// Recovery is the boot's timeline (Sent: QEMU started on the state).
	Recovery ResetResult
	// DSN reaches the sample's server, on a host port of its own: the
	// workload's clients, which may still be running, never reach it.
	DSN string
}

// WithSamples boots up to k extra crash states of the cut's log (seeded
// flush boundaries, crashstate.ChooseSampleCuts), one at a time, each on a
// qcow2 overlay over one scratch image, and calls visit once its server
// answers; the state is thrown away after visit. An error of visit ends
// the power cut with it (the VM is then down).
func WithSamples(k int, visit func(ctx context.Context, s Sample) error) PowerCutOption {
	return func(c *powerCutConfig) { c.samples, c.visit = k, visit }
}

// WithCut replaces the seeded choice of the cut point (crashstate.ChooseCut).
func WithCut(f func(ix *crashstate.Index, seed int64) uint64) PowerCutOption {
	return func(c *powerCutConfig) { c.cut = f }
}

// WithChooseOptions passes options (drop and tear probabilities) to
// crashstate.Choose.
func WithChooseOptions(opts ...crashstate.ChooseOption) PowerCutOption {
	return func(c *powerCutConfig) { c.choose = append(c.choose, opts...) }
}

// PowerCut cuts the VM's power: it kills QEMU with SIGKILL (QMP stop or
// quit would flush the disks first), builds the data disk a power cut at a
// seeded log position no later than that moment may leave (crashstate:
// unflushed writes dropped or torn, seeded), boots a new QEMU on it with
// the same root disk and waits, as HardReset does, for the agent of the
// new boot and the provisioned server, which the agent brings back by
// itself. A failure is a *ResetError; Result holds the timeline so far.
func (vm *VM) PowerCut(ctx context.Context, seed int64, opts ...PowerCutOption) (PowerCutResult, error) {
	cfg := powerCutConfig{cut: crashstate.ChooseCut}
	for _, o := range opts {
		o(&cfg)
	}
	vm.mu.Lock()
	q, d, old := vm.qemu, vm.powerCut, vm.bootID
	vm.mu.Unlock()
	if q == nil || d == nil {
		return PowerCutResult{}, fmt.Errorf("VM %s: power cut: %w", vm.ID, ErrNoWriteLog)
	}
	var res PowerCutResult
	tl := &res.Timeline
	fail := func(reason, err error) (PowerCutResult, error) {
		return res, asPowerCut(vm.resetFailed(&res.ResetResult, reason, err))
	}
	// With standbys the state comes up on one (found before the cut, so
	// the wait for it is not in the timeline).
	var sb *qemuVM
	if vm.spec0.Standby {
		var err error
		if sb, err = vm.readyStandby(ctx); err != nil {
			return fail(ErrVMNotBack, err)
		}
		res.Restored = sb.template != nil
	}
	tl.Sent = time.Now()
	q.console.Mark("==== crashrig: power cut (SIGKILL QEMU) ====")
	q.cleanup() // SIGKILL first: QMP stop or quit would flush the disks
	mysqlPort := q.mysqlPort
	tl.Acked = time.Since(tl.Sent)
	vm.retireBoot(old, errPowerCut)

	gen := d.gen
	res.Gen, res.Base, res.Log = gen, d.state, d.log
	next, _, _ := d.paths(vm.dir, gen+1)
	ix, err := crashstate.ScanFile(d.log)
	if err != nil {
		return fail(ErrVMNotBack, fmt.Errorf("scan write log %d: %w", gen, err))
	}
	floor := vm.cutFloor(gen)
	cut := min(max(cfg.cut(ix, seed), floor), ix.Len())
	res.Choices, res.Build, err = crashstate.BuildAt(ctx, ix, d.log, d.state, next, cut, seed, cfg.choose...)
	if err != nil {
		return fail(ErrVMNotBack, fmt.Errorf("build crash state at %d of log %d: %w", cut, gen, err))
	}
	res.Built = time.Since(tl.Sent) - tl.Acked
	// Generation gen-1 is replaced as the kept one; gen's overlay is done.
	for _, f := range []string{d.prevState, d.prevLog, d.overlay} {
		if f != "" {
			os.Remove(f)
		}
	}
	if err := d.startGen(ctx, &vm.mu, vm.dir, gen+1); err != nil {
		return fail(ErrVMNotBack, err)
	}
	vm.logf("VM %s: power cut: log %d cut at %d of %d entries (last flush %d; %d volatile writes, %d dropped, torn %v); state built in %v",
		vm.ID, gen, res.Choices.Cut, ix.Len(), res.Choices.LastFlush, res.Choices.VolatileLen, res.Build.Dropped, res.Build.Torn, res.Built.Round(time.Millisecond))
	if cfg.samples > 0 && cfg.visit != nil {
		if old, err = vm.sampleStates(ctx, ix, &res, old, seed, cfg); err != nil {
			return res, asPowerCut(err)
		}
	}
	if sb != nil {
		// The built state, logged as generation gen+1, is hot-plugged into
		// the standby, which takes over (the killed machine was never
		// stopped: nothing was flushed after the cut's SIGKILL).
		sb.console.Mark(fmt.Sprintf("==== crashrig: taking over VM %s after a power cut (state of log %d at %d) ====", vm.ID, gen, res.Choices.Cut))
		vm.takeOver(sb)
		rr, err := vm.attachOn(ctx, sb, d.disk(), old, res.ResetResult)
		res.ResetResult = rr
		return res, asPowerCut(err)
	}
	// The VM reboots on the built state.
	if err := vm.restartOn(ctx, d.disk(), mysqlPort); err != nil {
		return fail(ErrVMNotBack, err)
	}
	rr, err := vm.comeBack(ctx, old, res.ResetResult)
	res.ResetResult = rr
	return res, asPowerCut(err)
}

// cutFloor is the first log position of generation gen a power cut may
// be cut at: the end of provisioning in its generation, else 0.
func (vm *VM) cutFloor(gen int) uint64 {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.provisioned.Gen == gen {
		return vm.provisioned.Entries
	}
	return 0
}

// asPowerCut names a *ResetError's crash a power cut.
func asPowerCut(err error) error {
	var re *ResetError
	if errors.As(err, &re) {
		re.Op = "power cut"
	}
	return err
}

// errPowerCut ends the session of a boot that a power cut ended.
var errPowerCut = errors.New("VM lost power")

// restartOn brings the VM up on data after its machine was killed: a
// fresh machine (startMachine) with the killed one's root disk (the
// guest's disk survives a power cut), SSH port and console log, data as
// its data disk and mysqlPort as the server's host port, and lets its
// first agent in. The new machine and its down signal replace the old
// ones together, so the old machine's exit is no longer the VM's.
func (vm *VM) restartOn(ctx context.Context, data qemu.Disk, mysqlPort int) error {
	vm.mu.Lock()
	if vm.killed {
		vm.mu.Unlock()
		return fmt.Errorf("VM %s: restart QEMU: VM was killed", vm.ID)
	}
	old := vm.qemu
	q := &qemuVM{dir: old.dir, image: old.image, agentID: old.agentID, root: old.root,
		sshPort: old.sshPort, mysqlPort: mysqlPort}
	vm.qemu, vm.down, vm.dataDisk = q, newDownSignal(), data
	vm.boots.expect()
	vm.mu.Unlock()
	if err := vm.cp.startMachine(ctx, vm, q, false); err != nil {
		q.cleanup() // what the failed start had done
		return fmt.Errorf("VM %s: restart QEMU: %w", vm.ID, err)
	}
	return nil
}

// sampleStates boots the extra states of WithSamples, each with its own
// host port for the server, and returns the last boot id.
func (vm *VM) sampleStates(ctx context.Context, ix *crashstate.Index, res *PowerCutResult, old string, seed int64, cfg powerCutConfig) (string, error) {
	cuts := crashstate.ChooseSampleCuts(ix, seed, cfg.samples, vm.cutFloor(res.Gen))
	if len(cuts) == 0 {
		return old, nil
	}
	scratch, overlay := filepath.Join(vm.dir, "sample.raw"), filepath.Join(vm.dir, "sample.qcow2")
	sc, err := crashstate.NewScratch(res.Base, res.Log, scratch)
	if err != nil {
		return old, fmt.Errorf("VM %s: sample states: %w", vm.ID, err)
	}
	defer func() {
		sc.Close()
		os.Remove(scratch)
		os.Remove(overlay)
	}()
	ports, err := qemu.FreePorts(1)
	if err != nil {
		return old, fmt.Errorf("VM %s: sample states: %w", vm.ID, err)
	}
	for i, cut := range cuts {
		var sampler *qemuVM
		if vm.spec0.Sampler {
			if sampler, err = vm.sampler(ctx); err != nil {
				return old, vm.resetFailed(&res.ResetResult, ErrVMNotBack, err)
			}
		}
		s := Sample{Gen: res.Gen}
		s.Choices, err = crashstate.Choose(ix, cut, seed+int64(i)+1, cfg.choose...)
		if err == nil {
			s.Build, err = sc.Build(ctx, ix, s.Choices)
		}
		if err != nil {
			return old, vm.resetFailed(&res.ResetResult, ErrVMNotBack, fmt.Errorf("sample state at %d of log %d: %w", cut, res.Gen, err))
		}
		os.Remove(overlay)
		if err := qemu.CreateOverlayOnRaw(ctx, scratch, overlay); err != nil {
			return old, vm.resetFailed(&res.ResetResult, ErrVMNotBack, err)
		}
		if sampler != nil {
			if err := vm.sampleOnSampler(ctx, sampler, overlay, &s, cfg.visit); err != nil {
				var re *ResetError
				if errors.As(err, &re) {
					re.Err = fmt.Errorf("sampled crash state at write-log position %d of generation %d: %w", cut, res.Gen, re.Err)
				}
				return old, err
			}
			continue
		}
		s.Recovery.Timeline.Sent = time.Now()
		if err := vm.restartOn(ctx, qemu.Disk{Path: overlay, Format: "qcow2"}, ports[0]); err != nil {
			return old, vm.resetFailed(&res.ResetResult, ErrVMNotBack, err)
		}
		s.Recovery, err = vm.comeBack(ctx, old, s.Recovery)
		old = s.Recovery.BootID
		if err != nil {
			var re *ResetError
			if errors.As(err, &re) {
				re.Err = fmt.Errorf("sampled crash state at write-log position %d of generation %d: %w", cut, res.Gen, re.Err)
			}
			return old, err
		}
		s.DSN = vm.DSN()
		verr := cfg.visit(ctx, s)
		// Thrown away: kill its QEMU; its writes die with the overlay.
		vm.machine().cleanup()
		vm.retireBoot(old, errPowerCut)
		if verr != nil {
			return old, verr
		}
	}
	return old, nil
}

// Adopt tells the control plane that the VM's agent restores a server
// provisioned as spec (a VM started from an earlier VM's root disk,
// VMSpec.RootDisk), so DSN reaches it; WaitRestored waits for it.
func (vm *VM) Adopt(spec ServerSpec) error {
	ps, err := spec.proto()
	if err != nil {
		return err
	}
	vm.mu.Lock()
	vm.spec = ps
	vm.mu.Unlock()
	vm.prepareMachines()
	return nil
}

// WaitRestored waits, after Adopt, until the agent of the VM's current
// boot reports the server ready and it answers from the host, like the
// end of a reset (Timeline.Sent is the call).
func (vm *VM) WaitRestored(ctx context.Context) (ResetResult, error) {
	return vm.comeBack(ctx, "", ResetResult{Timeline: ResetTimeline{Sent: time.Now()}})
}
