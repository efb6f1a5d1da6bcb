package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
	"github.com/crashrig/crashrig/serverkind"
)

// Sampling machine (VMSpec.Sampler): the extra crash states of a power cut
// (WithSamples) are recovered on one more machine of the VM, booted once,
// instead of a boot each. For every state the control plane hot-plugs the
// state's overlay, the agent attaches it (AttachServer: mount, so the file
// system recovers, then the server's own recovery), the caller checks it,
// the agent detaches it (DetachServer: kill the server, unmount) and the
// disk is unplugged. The guest kernel has no cached block of a state: each
// is a new device, and the previous one's block device and page cache went
// with its removal. The machine is a standby (standby.go) that never takes
// over: its events are not the VM's, a StandbyReset never picks it.

// samplerDiskID is the device id of the state on the sampling machine.
const samplerDiskID = "sample"

// sampler returns the VM's sampling machine, booting one if it has none
// (the first sampled state of a run waits for it, or for the boot
// startSampler began).
func (vm *VM) sampler(ctx context.Context) (*qemuVM, error) {
	for {
		vm.mu.Lock()
		q, booting, ch := vm.samplerQ, vm.samplerBooting, vm.changed
		if q == nil && !booting {
			vm.samplerBooting = true
			vm.mu.Unlock()
			q, err := vm.bootSampler(ctx)
			vm.mu.Lock()
			vm.samplerBooting = false
			vm.broadcast()
			vm.mu.Unlock()
			return q, err
		}
		vm.mu.Unlock()
		if q != nil {
			if vm.isStandby(q) && vm.waitStandbyAgent(ctx, q) == nil {
				return q, nil
			}
			vm.dropSampler(q)
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("VM %s: waiting for the sampling machine: %w", vm.ID, ctx.Err())
		}
	}
}

// bootSampler boots a sampling machine and makes it the VM's.
func (vm *VM) bootSampler(ctx context.Context) (*qemuVM, error) {
	vm.mu.Lock()
	st := &vm.standbys
	if st.ctx == nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
	}
	st.count++
	n := st.count
	vm.mu.Unlock()
	start := time.Now()
	q, err := vm.bootStandby(ctx, n, true)
	if err != nil {
		return nil, fmt.Errorf("VM %s: boot the sampling machine: %w", vm.ID, err)
	}
	// It carries a server whenever it is used: full priority.
	if err := q.proc.SetPriority(0, false); err != nil {
		vm.logf("VM %s: raise the priority of QEMU pid %d: %v", vm.ID, q.proc.Pid(), err)
	}
	vm.mu.Lock()
	vm.samplerQ = q
	vm.mu.Unlock()
	vm.logf("VM %s: sampling machine %s ready after %s", vm.ID, q.agentID, time.Since(start).Round(time.Millisecond))
	return q, nil
}

// prepareMachines readies, in the background, the VM's other machines for
// the server it now has (after Provision or Adopt): standbys start it
// ahead, the sampling machine boots.
func (vm *VM) prepareMachines() {
	vm.prepareStandbys()
	if vm.spec0.Sampler {
		vm.startSampler()
	}
}

// startSampler boots the sampling machine in the background, so the first
// power cut does not wait for it.
func (vm *VM) startSampler() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	st := &vm.standbys
	if vm.killed || vm.samplerQ != nil || vm.samplerBooting {
		return
	}
	if st.ctx == nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
	}
	ctx := st.ctx
	st.wg.Go(func() {
		if _, err := vm.sampler(ctx); err != nil {
			vm.logf("%v", err)
		}
	})
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
	// started after the detach.
	q.serverPrepared = nil
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
	vm.mu.Lock()
	q.sampling = false // the detach's own kill is no finding
	vm.mu.Unlock()
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
	q := vm.samplerQ
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
