package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/serverkind"
)

// Sampling machines (VMSpec.Sampler): the extra crash states of a power
// cut (WithSamples) are recovered on machines of their own, not on a boot
// each. A sampling machine is restored from the VM's standby template
// (template.go), so it comes with the server started ahead at its gate
// when the spec has one; the VM keeps samplerDepth of them ready. For
// every state the control plane takes a ready one, hot-plugs the state's
// overlay, the agent attaches it (AttachServer: mount, so the file system
// recovers, then the server's own recovery; a server started ahead is
// released), and the caller checks it. Then (finishSample), with a server
// started ahead, the machine is killed and the next state gets a fresh
// one, restored in the background meanwhile; without, the agent detaches
// the state (DetachServer: kill the server, unmount), the disk is
// unplugged and the machine kept. Either way the guest kernel has no
// cached block of an earlier state: a killed machine is gone, and a
// detached state's block device and page cache go with its removal. A
// sampling machine is a standby (standby.go) that never takes over: its
// events are not the VM's, a StandbyReset never picks it.

// samplerDiskID is the device id of the state on the sampling machine.
const samplerDiskID = "sample"

// samplerDepth is how many sampling machines the VM keeps ready: one in
// use, one being restored behind it.
const samplerDepth = 2

// samplerState is the VM's sampling machines (under vm.mu).
type samplerState struct {
	// ready are started and unused, oldest first.
	ready []*qemuVM
	// inUse has a sampled state attached (its server's events are the
	// state's: sampledStateEvent).
	inUse *qemuVM
	// booting counts the starts under way.
	booting int
}

// sampler takes a ready sampling machine for the next state, waiting for
// one (and starting more) if none is ready.
func (vm *VM) sampler(ctx context.Context) (*qemuVM, error) {
	for {
		vm.startSamplers()
		vm.mu.Lock()
		sp := &vm.samplers
		var q *qemuVM
		for len(sp.ready) > 0 && q == nil {
			q, sp.ready = sp.ready[0], sp.ready[1:]
			if !vm.standbys.has(q) { // its QEMU exited
				q = nil
			}
		}
		if q != nil {
			sp.inUse = q
		}
		booting, killed, ch := sp.booting, vm.killed, vm.changed
		vm.mu.Unlock()
		if q != nil {
			if err := vm.waitStandbyAgent(ctx, q); err != nil {
				vm.dropSampler(q)
				continue
			}
			// It carries a server now: full priority.
			if err := q.proc.SetPriority(0, false); err != nil {
				vm.logf("VM %s: raise the priority of QEMU pid %d: %v", vm.ID, q.proc.Pid(), err)
			}
			return q, nil
		}
		if killed {
			return nil, fmt.Errorf("VM %s: sampling machine: VM was killed", vm.ID)
		}
		if booting == 0 {
			// startSamplers found nothing to start: its last start failed.
			vm.mu.Lock()
			err := vm.standbys.err
			vm.mu.Unlock()
			return nil, fmt.Errorf("VM %s: no sampling machine: %v", vm.ID, err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("VM %s: waiting for a sampling machine: %w", vm.ID, ctx.Err())
		}
	}
}

// startSamplers starts sampling machines in the background until the VM
// has samplerDepth of them ready or starting.
func (vm *VM) startSamplers() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	st, sp := &vm.standbys, &vm.samplers
	if st.ctx == nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
	}
	for !vm.killed && len(sp.ready)+sp.booting < samplerDepth {
		sp.booting++
		st.count++
		n, ctx := st.count, st.ctx
		st.wg.Go(func() {
			start := time.Now()
			q, err := vm.bootStandby(ctx, n, true)
			vm.mu.Lock()
			sp.booting--
			if err == nil {
				sp.ready = append(sp.ready, q)
			} else {
				st.err = err
			}
			vm.broadcast()
			vm.mu.Unlock()
			if err != nil {
				vm.logf("VM %s: sampling machine %d: %v", vm.ID, n, err)
				return
			}
			vm.logf("VM %s: sampling machine %s ready after %s", vm.ID, q.agentID, time.Since(start).Round(time.Millisecond))
		})
	}
}

// prepareMachines readies, in the background, the VM's other machines for
// the server it now has (after Provision or Adopt): standbys start it
// ahead, sampling machines start.
func (vm *VM) prepareMachines() {
	vm.prepareStandbys()
	if vm.spec0.Sampler {
		vm.startSamplers()
	}
}

// sampleOnSampler recovers the state in overlay on sampling machine q,
// lets visit check it and is done with q (finishSample). A state whose
// server does not come up, or reports an error line or an exit, is a
// *ResetError (ErrServerNotRecovered); an error of visit is returned as
// it is.
func (vm *VM) sampleOnSampler(ctx context.Context, q *qemuVM, overlay string, s *Sample, visit func(context.Context, Sample) error) error {
	defer vm.finishSample(ctx, q)
	tl := &s.Recovery.Timeline
	tl.Sent = time.Now()
	dsn, err := vm.sampleOn(ctx, q, qemu.Disk{Path: overlay, Format: "qcow2"})
	if err != nil {
		reason := ErrServerNotRecovered
		select {
		case <-q.proc.Done(): // the sampling machine died: no verdict on the state
			reason = ErrVMNotBack
		default:
			if ctx.Err() != nil {
				reason = ErrVMNotBack
			}
		}
		if evs := vm.takeSampleEvents(q); len(evs) > 0 {
			err = fmt.Errorf("%w; the agent reported:\n%s", err, strings.Join(evs, "\n"))
		}
		return vm.resetFailed(&s.Recovery, reason, err)
	}
	// Attach answers once the server answers the agent's query.
	tl.ServerReady = time.Since(tl.Sent)
	tl.Answered = tl.ServerReady
	s.Recovery.BootID = q.standbyBoot
	s.Recovery.Restored = q.template != nil
	s.DSN = dsn
	verr := visit(ctx, *s)
	if evs := vm.takeSampleEvents(q); verr == nil && len(evs) > 0 {
		verr = vm.resetFailed(&s.Recovery, ErrServerNotRecovered, fmt.Errorf("the server of the sampled state reported:\n%s", strings.Join(evs, "\n")))
	}
	return verr
}

// finishSample is done with sampling machine q after a state. One
// restored with a server started ahead (a spec with a start gate) is
// killed: the next state gets a fresh one, whose server is ready at its
// gate. Otherwise the state is detached and q kept for the next: a server
// started cold starts faster in a machine that ran it before (QEMU's TCG
// keeps the code it translated; a restored machine starts with none). A
// failed detach kills q.
func (vm *VM) finishSample(ctx context.Context, q *qemuVM) {
	vm.mu.Lock()
	q.sampling = false // the end of the state is no finding
	throwAway := q.template != nil && vm.spec.GetServer().GetStartGate() != nil
	vm.mu.Unlock()
	if throwAway {
		vm.dropSampler(q)
		return
	}
	if err := vm.detachSample(ctx, q); err != nil {
		vm.logf("VM %s: %v; starting another sampling machine", vm.ID, err)
		vm.dropSampler(q)
		return
	}
	vm.mu.Lock()
	if vm.samplers.inUse == q {
		vm.samplers.inUse = nil
	}
	vm.samplers.ready = append([]*qemuVM{q}, vm.samplers.ready...)
	vm.broadcast()
	vm.mu.Unlock()
}

// dropSampler kills sampling machine q.
func (vm *VM) dropSampler(q *qemuVM) {
	vm.mu.Lock()
	if vm.samplers.inUse == q {
		vm.samplers.inUse = nil
	}
	vm.mu.Unlock()
	vm.dropStandby(q)
}

// sampleOn brings the state on disk up on sampling machine q and returns
// the DSN of its server (the machine's own host port: the workload's
// clients never reach it). detach undoes it, also after a failure.
func (vm *VM) sampleOn(ctx context.Context, q *qemuVM, disk qemu.Disk) (dsn string, err error) {
	vm.mu.Lock()
	spec, s := vm.spec, q.standbySess
	vm.mu.Unlock()
	if spec == nil {
		return "", errors.New("sample: the VM has no provisioned server")
	}
	if s == nil || s.isRetired() {
		return "", fmt.Errorf("sample: the agent of %s is not connected", q.agentID)
	}
	cmds, err := qemu.HotplugCommands(disk, samplerDiskID, qemu.DataDiskAddr)
	if err != nil {
		return "", err
	}
	for _, c := range cmds {
		if err := vm.qmpRunOn(ctx, q, string(c)); err != nil {
			return "", fmt.Errorf("sample: hot-plug %s: %w", disk.Path, err)
		}
	}
	// The server started ahead after the last detach (background): the
	// attach releases it once it waits at its gate.
	if err := vm.prepareStandbyServer(ctx, q); err != nil {
		vm.logf("VM %s: %v", vm.ID, err)
	}
	vm.mu.Lock()
	q.sampling, q.sampleEvents = true, nil
	// The attach takes the server started ahead; the next one is
	// started after the detach. A warm-up lasts as long as the machine.
	if spec.GetServer().GetStartGate() != nil {
		q.serverPrepared = nil
	}
	vm.mu.Unlock()
	if _, err := s.call(ctx, &pb.Command{Cmd: &pb.Command_AttachServer{AttachServer: &pb.AttachServer{Spec: spec}}}); err != nil {
		return "", fmt.Errorf("sample: attach: %w", err)
	}
	return serverkind.ClientDSN(spec, fmt.Sprintf("127.0.0.1:%d", q.mysqlPort)), nil
}

// detachSample stops the sampled state's server on q, unmounts it and
// unplugs the disk, so the next state can be attached.
func (vm *VM) detachSample(ctx context.Context, q *qemuVM) error {
	vm.mu.Lock()
	s := q.standbySess
	vm.mu.Unlock()
	if s == nil || s.isRetired() {
		return fmt.Errorf("detach sample: the agent of %s is not connected", q.agentID)
	}
	if _, err := s.call(ctx, &pb.Command{Cmd: &pb.Command_DetachServer{DetachServer: &pb.DetachServer{}}}); err != nil {
		return fmt.Errorf("detach sample: %w", err)
	}
	// The guest ejects the device (ACPI) after device_del returns; the
	// node can be deleted once the device is gone.
	del, _ := json.Marshal(map[string]any{"execute": "device_del", "arguments": map[string]any{"id": samplerDiskID}})
	if err := vm.qmpRunOn(ctx, q, string(del)); err != nil {
		return fmt.Errorf("detach sample: device_del: %w", err)
	}
	nodeDel, _ := json.Marshal(map[string]any{"execute": "blockdev-del", "arguments": map[string]any{"node-name": samplerDiskID + "-node"}})
	ctx, cancel := context.WithTimeout(ctx, unplugTimeout)
	defer cancel()
	for {
		err := vm.qmpRunOn(ctx, q, string(nodeDel))
		if err == nil {
			vm.prepareSampler(q)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("detach sample: the guest did not release the disk within %s: %w", unplugTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// prepareSampler has sampling machine q start the server ahead again, in
// the background, for its next state (a spec with a start gate; the
// bundled server's initialisation then happens between power cuts).
func (vm *VM) prepareSampler(q *qemuVM) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	st := &vm.standbys
	if vm.killed || st.ctx == nil {
		return
	}
	ctx := st.ctx
	st.wg.Go(func() {
		if err := vm.prepareStandbyServer(ctx, q); err != nil {
			vm.logf("VM %s: %v", vm.ID, err)
		}
	})
}

// unplugTimeout bounds the guest's ejection of an unplugged state.
const unplugTimeout = 30 * time.Second

// sampledStateEvent keeps what the sampling machine's agent reports about
// the server of a sampled state (an error line in its log, an exit)
// while a state is attached (q.sampling), for sampleOnSampler to fail the
// state with; it reports whether s is the sampling machine's session.
func (vm *VM) sampledStateEvent(s *session, ev *pb.Event) bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	q := vm.samplers.inUse
	if q == nil || q.standbySess != s {
		return false
	}
	e, ok := serverEvent(vm.ID+" (sampled state)", s, ev)
	if ok && q.sampling {
		q.sampleEvents = append(q.sampleEvents, e.String())
	}
	return true
}

// takeSampleEvents returns and clears what the sampled state's server
// reported (sampledStateEvent).
func (vm *VM) takeSampleEvents(q *qemuVM) []string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	evs := q.sampleEvents
	q.sampleEvents = nil
	return evs
}
