package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// A standby VM starts the server ahead (PrepareServer), gated: the process
// runs its package initialisation and waits at its start gate without
// opening any file on the data disk, which is not even attached yet. At
// the attach, after the mount, the gate is released instead of starting a
// process, so the crash pays only the server's own recovery.

// preparedServer is a server process started gated for spec.
type preparedServer struct {
	spec *pb.ProvisionServer
	proc *serverProc
}

// Prepare starts spec's server gated (PrepareServer). It replaces a
// process prepared earlier; it fails when a server is provisioned here or
// the spec has no start gate.
func (m *serverManager) Prepare(ctx context.Context, spec *pb.ProvisionServer) (*pb.ProvisionResult, error) {
	m.op.Lock()
	defer m.op.Unlock()
	if m.provisioned() {
		return nil, errors.New("prepare: a server is already provisioned on this VM")
	}
	if spec == nil {
		return nil, errors.New("prepare: no provisioning spec")
	}
	if err := completeSpec(spec); err != nil {
		return nil, err
	}
	k, in, err := m.instance(spec)
	if err != nil {
		return nil, err
	}
	g, ok := k.(serverkind.Gated)
	if !ok {
		return m.warm(ctx, k, spec)
	}
	cmd, release, ok := g.GatedCommand(in)
	if !ok {
		return m.warm(ctx, k, spec)
	}
	if release != pb.GateRelease_GATE_RELEASE_STDIN_LINE {
		return nil, fmt.Errorf("prepare: %s: unknown start gate release %v", k.Name(), release)
	}
	if k.Uploaded() {
		if _, err := os.Stat(in.Binary); err != nil {
			return nil, fmt.Errorf("prepare: %s build: %w", k.Name(), err)
		}
	}
	m.dropPrepared("replaced by a new PrepareServer")
	start := time.Now()
	p, err := m.spawn(k, in, cmd, true)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.prepared = &preparedServer{spec: spec, proc: p}
	m.mu.Unlock()
	// Answer once its initialisation is done, so that a standby counts as
	// ready only then.
	ctx, cancel := context.WithTimeout(ctx, startTimeout(k))
	defer cancel()
	select {
	case <-p.atGate:
	case <-ctx.Done():
		m.dropPrepared("it did not reach its start gate")
		return nil, fmt.Errorf("prepare: %s did not reach its start gate (closing descriptor 3): %w", k.Name(), ctx.Err())
	}
	// EOF also comes with an exit. One that is not reaped yet is reported
	// by the reaper, and the attach starts a server.
	if !p.running() {
		m.dropPrepared("it exited")
		return nil, fmt.Errorf("prepare: %s exited before its start gate (%s); last lines:\n%s", k.Name(), p.stateString(), strings.Join(p.watcher.tail(), "\n"))
	}
	m.log.Info("server waits at its start gate", "kind", k.Name(), "pid", p.cmd.Process.Pid, "after", time.Since(start).Round(time.Millisecond))
	return &pb.ProvisionResult{Pid: int32(p.cmd.Process.Pid), Seconds: time.Since(start).Seconds()}, nil
}

// dropPrepared kills the prepared process, if any (m.op held).
func (m *serverManager) dropPrepared(why string) {
	m.mu.Lock()
	pr := m.prepared
	m.prepared = nil
	m.mu.Unlock()
	if pr == nil {
		return
	}
	m.log.Info("dropping the prepared server", "pid", pr.proc.cmd.Process.Pid, "why", why)
	m.kill(pr.proc)
}

// releasePrepared releases the process prepared for spec, now that the
// data disk is mounted, and makes it the VM's server; nil when there is
// none, it was prepared for another provisioning, or it has exited (then
// the caller starts one, as after a boot).
func (m *serverManager) releasePrepared(spec *pb.ProvisionServer) *serverProc {
	m.mu.Lock()
	pr := m.prepared
	m.prepared = nil
	m.mu.Unlock()
	if pr == nil {
		m.log.Info("no prepared server; starting one")
		return nil
	}
	p := pr.proc
	if !proto.Equal(pr.spec, spec) {
		m.log.Warn("the prepared server is of another provisioning; starting one", "pid", p.cmd.Process.Pid)
		m.kill(p)
		return nil
	}
	// Its log file is this start's from here on (the disk was not there
	// before the mount).
	p.tailer.skipExisting()
	p.logStart = p.tailer.off
	if !p.watchLog() {
		m.log.Warn("the prepared server has exited; starting one", "pid", p.cmd.Process.Pid, "state", p.stateString())
		return nil
	}
	m.running(p)
	err := releaseStdinLine(p.gate)
	p.gate = nil
	if err != nil {
		m.log.Warn("release the prepared server; starting one", "pid", p.cmd.Process.Pid, "err", err)
		m.mu.Lock()
		if m.proc == p {
			m.proc = nil
		}
		m.mu.Unlock()
		m.kill(p)
		return nil
	}
	m.log.Info("prepared server released", "kind", spec.GetKind(), "pid", p.cmd.Process.Pid)
	return p
}

// releaseStdinLine sends the release line and closes the pipe (the
// server ignores its stdin from then on).
func releaseStdinLine(w io.WriteCloser) error {
	_, err := io.WriteString(w, "\n")
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
