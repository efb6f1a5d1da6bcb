package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// The server manager's state and the events it reports. Provisioning,
// restore and stop are in provision.go, the server process and its
// supervision in supervise.go, log watching in watch.go.

const (
	specFile = "provision.json"
	// readyTimeout bounds a server start unless its spec says otherwise
	// (MariaDB's first start under TCG takes tens of seconds).
	readyTimeout = 5 * time.Minute
	stopTimeout  = time.Minute
	// deviceTimeout bounds the wait for a hot-plugged data disk to appear.
	deviceTimeout = time.Minute
	logTailLines  = 50
)

// serverManager owns the one provisioned server of this VM.
type serverManager struct {
	paths  Paths
	log    *slog.Logger
	emit   func(*pb.Event)
	health *health.Server

	// op serialises provisioning, restore and stop.
	op sync.Mutex

	// fault is the injected I/O fault (faults.go).
	fault faultState

	mu    sync.Mutex
	spec  *pb.ProvisionServer
	proc  *serverProc
	ready bool
	// prepared is the server started ahead on a standby (prepare.go),
	// until the attach releases it.
	prepared *preparedServer
	// warmPort is where a warm-up's throwaway server listens (warm.go).
	warmPort int
}

func newServerManager(paths Paths, log *slog.Logger, emit func(*pb.Event), hs *health.Server) (*serverManager, error) {
	m := &serverManager{paths: paths, log: log, emit: emit, health: hs, warmPort: warmPort}
	spec, err := loadSpec(filepath.Join(paths.State, specFile))
	if err != nil {
		return nil, err
	}
	m.spec = spec
	return m, nil
}

// Status is the server state for the hello.
func (m *serverManager) Status() *pb.ServerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &pb.ServerStatus{Provisioned: m.spec != nil, Ready: m.ready}
	if m.spec != nil {
		st.Kind = m.spec.GetKind()
	}
	if m.proc != nil && m.ready {
		st.Pid = int32(m.proc.cmd.Process.Pid)
	}
	return st
}

// instance resolves spec into a kind and its guest paths.
func (m *serverManager) instance(spec *pb.ProvisionServer) (serverkind.Kind, serverkind.Instance, error) {
	k, err := serverkind.KindOf(spec)
	if err != nil {
		return nil, serverkind.Instance{}, err
	}
	in := serverkind.Instance{Spec: spec, DataDir: m.paths.Data, StateDir: m.paths.State}
	if k.Uploaded() {
		if spec.GetVersion() == "" {
			return nil, in, fmt.Errorf("%s: version of the installed build is required", k.Name())
		}
		in.Binary = installedPath(m.paths.Servers, k.Name(), spec.GetVersion())
	}
	return k, in, nil
}

// DataPaths are the default files to collect.
func (m *serverManager) DataPaths() []string {
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	if spec == nil {
		return nil
	}
	k, in, err := m.instance(spec)
	if err != nil {
		return nil
	}
	return k.DataPaths(in)
}

// setReady records that p answers and reports ServerReady with the
// server's own recovery time, as the kind reads it from the log of this
// start.
// fsCheck is the boot-time file system check's output, if the mount
// needed one (mountAfterCrash).
func (m *serverManager) setReady(spec *pb.ProvisionServer, p *serverProc, fsCheck string) {
	m.mu.Lock()
	m.spec, m.ready = spec, p.running()
	ready := m.ready
	m.mu.Unlock()
	if !ready {
		return
	}
	m.health.SetServingStatus(healthService, healthpb.HealthCheckResponse_SERVING)
	ev := &pb.ServerReady{Kind: spec.GetKind(), Pid: int32(p.cmd.Process.Pid), UptimeSeconds: uptime(), FsCheck: fsCheck}
	if r, ok := p.kind.(serverkind.RecoveryReporter); ok {
		if d, ok := r.RecoveryTime(p.startLog()); ok {
			ev.RecoveryNanos = proto.Int64(int64(d))
		}
	}
	m.log.Info("server ready", "kind", spec.GetKind(), "pid", p.cmd.Process.Pid,
		"own_recovery", time.Duration(ev.GetRecoveryNanos()), "recovery_reported", ev.RecoveryNanos != nil)
	m.emit(&pb.Event{Kind: &pb.Event_ServerReady{ServerReady: ev}})
}

// restoreFailed reports that the provisioned server could not be brought
// back after a boot.
func (m *serverManager) restoreFailed(spec *pb.ProvisionServer, err error) {
	m.log.Error("restore server", "kind", spec.GetKind(), "err", err)
	m.emit(&pb.Event{Kind: &pb.Event_RestoreFailed{RestoreFailed: &pb.RestoreFailed{
		Kind: spec.GetKind(), Reason: err.Error()}}})
}

// clientDSN is how the agent checks the server the way the host will reach
// it: TCP on loopback with the test's account.
func clientDSN(spec *pb.ProvisionServer) string {
	return serverkind.ClientDSN(spec, "127.0.0.1:"+strconv.Itoa(serverkind.GuestPort))
}

// startTimeout bounds a start of k: its spec's ready timeout, else
// readyTimeout.
func startTimeout(k serverkind.Kind) time.Duration {
	if t, ok := k.(interface{ ReadyTimeout() time.Duration }); ok {
		return t.ReadyTimeout()
	}
	return readyTimeout
}
