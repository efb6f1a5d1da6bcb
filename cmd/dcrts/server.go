package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/crashrig/crashrig/controlplane/serverkind"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

const (
	specFile      = "provision.json"
	pidFile       = "server.pid"
	defaultDevice = "/dev/vdb"
	// readyTimeout bounds a server start (MariaDB's first start under TCG
	// takes tens of seconds).
	readyTimeout = 5 * time.Minute
	stopTimeout  = time.Minute
	logTailLines = 50
)

// serverManager owns the one provisioned server of this VM.
type serverManager struct {
	paths  Paths
	log    *slog.Logger
	emit   func(*pb.Event)
	health *health.Server

	// op serialises provisioning, restore and stop.
	op sync.Mutex

	mu    sync.Mutex
	spec  *pb.ProvisionServer
	proc  *serverProc
	ready bool
}

func newServerManager(paths Paths, log *slog.Logger, emit func(*pb.Event), hs *health.Server) (*serverManager, error) {
	m := &serverManager{paths: paths, log: log, emit: emit, health: hs}
	spec, err := loadSpec(filepath.Join(paths.State, specFile))
	if err != nil {
		return nil, err
	}
	m.spec = spec
	return m, nil
}

// loadSpec reads the durable provisioning spec; nil if none.
func loadSpec(path string) (*pb.ProvisionServer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning spec: %w", err)
	}
	spec := &pb.ProvisionServer{}
	if err := protojson.Unmarshal(b, spec); err != nil {
		return nil, fmt.Errorf("provisioning spec %s: %w", path, err)
	}
	return spec, nil
}

// saveSpec writes the spec durably (a reset right after must find it).
func saveSpec(path string, spec *pb.ProvisionServer) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return serverkind.WriteFileDurable(path, b, 0o600)
}

// removeSpec forgets the provisioning durably.
func removeSpec(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return serverkind.SyncDir(filepath.Dir(path))
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
	k, err := serverkind.Lookup(spec.GetKind())
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

// Provision formats the data disk, initialises and starts the server, and
// returns once it accepts MySQL connections with the requested account.
func (m *serverManager) Provision(ctx context.Context, spec *pb.ProvisionServer) (*pb.ProvisionResult, error) {
	m.op.Lock()
	defer m.op.Unlock()
	start := time.Now()
	m.mu.Lock()
	busy := m.spec != nil || m.proc != nil
	m.mu.Unlock()
	if busy {
		return nil, errors.New("a server is already provisioned: stop it with delete_data first")
	}
	if spec.GetFsType() == "" {
		spec.FsType = "ext4"
	}
	if spec.GetDevice() == "" {
		spec.Device = defaultDevice
	}
	spec.MountOptions = mountOptions(spec.GetFsType(), spec.GetMountOptions())
	for _, p := range spec.GetErrorLogPatterns() {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("error log pattern %q: %w", p, err)
		}
	}
	k, in, err := m.instance(spec)
	if err != nil {
		return nil, err
	}
	unmount(m.paths.Data) // a leftover mount of an earlier provisioning
	if err := mkfs(ctx, spec); err != nil {
		return nil, err
	}
	if err := mount(ctx, spec, m.paths.Data); err != nil {
		return nil, err
	}
	if err := k.Init(ctx, in); err != nil {
		return nil, fmt.Errorf("initialise %s: %w", k.Name(), err)
	}
	p, err := m.start(k, in)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pb.ProvisionResult, error) {
		m.kill(p)
		return nil, err
	}
	if err := waitReady(ctx, k.AdminDSN(in), p); err != nil {
		return fail(fmt.Errorf("%s did not come up: %w", k.Name(), err))
	}
	if err := bootstrap(ctx, k, in); err != nil {
		return fail(fmt.Errorf("bootstrap %s: %w", k.Name(), err))
	}
	if err := waitReady(ctx, clientDSN(spec), p); err != nil {
		return fail(fmt.Errorf("%s: account check: %w", k.Name(), err))
	}
	// Everything mkfs, the initialisation and the bootstrap wrote must
	// survive a reset that comes right after this answer.
	syncFilesystems()
	if err := saveSpec(filepath.Join(m.paths.State, specFile), spec); err != nil {
		return fail(err)
	}
	m.setReady(spec, p)
	return &pb.ProvisionResult{Kind: k.Name(), Pid: int32(p.cmd.Process.Pid),
		GuestPort: serverkind.GuestPort, Seconds: time.Since(start).Seconds()}, nil
}

// Restore brings the provisioned server back after a boot: mount the data
// disk with the same options (the file system replays its journal; no
// mkfs), start the server, wait until it answers, report ServerReady.
func (m *serverManager) Restore(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	if spec == nil {
		return nil
	}
	m.log.Info("restoring provisioned server", "kind", spec.GetKind())
	k, in, err := m.instance(spec)
	if err != nil {
		return err
	}
	killStale(filepath.Join(m.paths.Run, pidFile), m.log)
	if !isMounted(m.paths.Data) {
		if err := mount(ctx, spec, m.paths.Data); err != nil {
			return err
		}
		m.log.Info("data disk mounted", "device", spec.GetDevice(), "options", spec.GetMountOptions())
	}
	p, err := m.start(k, in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := waitReady(ctx, clientDSN(spec), p); err != nil {
		// An exited server was reported by its watcher already.
		return fmt.Errorf("%s did not come back: %w", k.Name(), err)
	}
	m.setReady(spec, p)
	return nil
}

func (m *serverManager) setReady(spec *pb.ProvisionServer, p *serverProc) {
	m.mu.Lock()
	m.spec, m.ready = spec, p.running()
	ready := m.ready
	m.mu.Unlock()
	if !ready {
		return
	}
	m.health.SetServingStatus(healthService, healthpb.HealthCheckResponse_SERVING)
	up := uptime()
	m.log.Info("server ready", "kind", spec.GetKind(), "pid", p.cmd.Process.Pid)
	p.syncLog()
	m.emit(&pb.Event{Kind: &pb.Event_ServerReady{ServerReady: &pb.ServerReady{
		Kind: spec.GetKind(), Pid: int32(p.cmd.Process.Pid), UptimeSeconds: up, StartupLog: p.watcher.tail()}}})
}

// Stop stops the server (SIGTERM and wait when clean, else SIGKILL); with
// deleteData it also deletes the database and forgets the provisioning.
func (m *serverManager) Stop(ctx context.Context, clean, deleteData bool) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.expectExit()
		sig := syscall.SIGKILL
		if clean {
			sig = syscall.SIGTERM
		}
		p.cmd.Process.Signal(sig)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.cmd.Process.Kill()
			<-p.done
			if clean {
				return fmt.Errorf("server did not stop within %s of SIGTERM; killed", stopTimeout)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if clean && !p.exitedCleanly() {
			m.log.Warn("server stop was not clean", "state", p.stateString())
		}
	}
	if !deleteData {
		return nil
	}
	if err := removeSpec(filepath.Join(m.paths.State, specFile)); err != nil {
		return err
	}
	m.mu.Lock()
	m.spec = nil
	m.mu.Unlock()
	entries, err := os.ReadDir(m.paths.Data)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(m.paths.Data, e.Name())); err != nil {
			return fmt.Errorf("delete data: %w", err)
		}
	}
	syncFilesystems()
	unmount(m.paths.Data)
	return nil
}

// Close stops watching (waits for the watcher goroutines of an exited
// server). The server keeps running: the agent may be restarted by init.
func (m *serverManager) Close() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.stopWatching()
	}
}

// start runs the server with its log watched.
func (m *serverManager) start(k serverkind.Kind, in serverkind.Instance) (*serverProc, error) {
	var patterns []*regexp.Regexp
	for _, s := range in.Spec.GetErrorLogPatterns() {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("error log pattern %q: %w", s, err)
		}
		patterns = append(patterns, re)
	}
	w := newLineWatcher(logTailLines, patterns, func(line, pattern string) {
		m.emit(&pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: line, Pattern: pattern}}})
	})
	cmd := k.Command(in)
	if env := in.Spec.GetEnv(); len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = w.source()
	cmd.Stderr = w.source()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logFile := k.LogFile(in)
	tailer := &fileTailer{path: logFile}
	tailer.skipExisting()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", k.Name(), err)
	}
	os.MkdirAll(m.paths.Run, 0o755)
	os.WriteFile(filepath.Join(m.paths.Run, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	m.log.Info("server started", "kind", k.Name(), "pid", cmd.Process.Pid, "cmd", strings.Join(cmd.Args, " "))
	p := &serverProc{cmd: cmd, done: make(chan struct{}), watcher: w, quit: make(chan struct{}), flush: make(chan chan struct{})}
	fileSink := w.source()
	tailed := make(chan struct{})
	p.wg.Go(func() {
		defer close(tailed)
		tailer.run(p.quit, p.flush, fileSink)
		tailer.poll(fileSink) // the last words before the exit
	})
	p.wg.Go(func() {
		p.waitErr = cmd.Wait()
		close(p.quit)
		<-tailed
		close(p.done)
		m.exited(k, p)
	})
	m.mu.Lock()
	m.proc, m.ready = p, false
	m.mu.Unlock()
	return p, nil
}

// exited handles the end of the server process.
func (m *serverManager) exited(k serverkind.Kind, p *serverProc) {
	m.mu.Lock()
	if m.proc == p {
		m.proc, m.ready = nil, false
	}
	m.mu.Unlock()
	m.health.SetServingStatus(healthService, healthpb.HealthCheckResponse_NOT_SERVING)
	os.Remove(filepath.Join(m.paths.Run, pidFile))
	if p.exitExpected() {
		m.log.Info("server stopped", "kind", k.Name(), "state", p.stateString())
		return
	}
	code, sig := p.exitStatus()
	m.log.Error("server exited unexpectedly", "kind", k.Name(), "pid", p.cmd.Process.Pid, "state", p.stateString())
	m.emit(&pb.Event{Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{
		Kind: k.Name(), Pid: int32(p.cmd.Process.Pid), Code: code, Signal: sig, LogTail: p.watcher.tail()}}})
}

// kill stops a server that failed to provision.
func (m *serverManager) kill(p *serverProc) {
	p.expectExit()
	p.cmd.Process.Kill()
	<-p.done
}

// serverProc is one run of the server.
type serverProc struct {
	cmd     *exec.Cmd
	watcher *lineWatcher
	done    chan struct{}      // closed once the process is reaped and its log read
	quit    chan struct{}      // stops the log tailer
	flush   chan chan struct{} // asks the log tailer to read the file now
	waitErr error
	wg      sync.WaitGroup

	mu       sync.Mutex
	expected bool
}

// syncLog makes the watcher hold everything the server has logged so far
// (the tailer otherwise polls every tailInterval).
func (p *serverProc) syncLog() {
	done := make(chan struct{})
	select {
	case p.flush <- done:
		<-done
	case <-p.quit:
	}
}

func (p *serverProc) expectExit() {
	p.mu.Lock()
	p.expected = true
	p.mu.Unlock()
}

func (p *serverProc) exitExpected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.expected
}

func (p *serverProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *serverProc) stopWatching() {
	select {
	case <-p.done:
		p.wg.Wait()
	default:
	}
}

// exitStatus is the exit code (-1 if signalled) and the signal name.
func (p *serverProc) exitStatus() (int32, string) {
	ps := p.cmd.ProcessState
	if ps == nil {
		return -1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return int32(ps.ExitCode()), ""
}

func (p *serverProc) exitedCleanly() bool {
	return p.cmd.ProcessState != nil && p.cmd.ProcessState.Success()
}

func (p *serverProc) stateString() string {
	if p.cmd.ProcessState == nil {
		return fmt.Sprint(p.waitErr)
	}
	return p.cmd.ProcessState.String()
}

// waitReady pings dsn until the server answers, it exits, or ctx ends.
func waitReady(ctx context.Context, dsn string, p *serverProc) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("server exited (%s); last log lines:\n%s", p.stateString(), strings.Join(p.watcher.tail(), "\n"))
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = db.PingContext(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-p.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func bootstrap(ctx context.Context, k serverkind.Kind, in serverkind.Instance) error {
	db, err := sql.Open("mysql", k.AdminDSN(in))
	if err != nil {
		return err
	}
	defer db.Close()
	return k.Bootstrap(ctx, db, in)
}

// clientDSN is how the agent checks the server the way the host will reach
// it: TCP on loopback with the test's account.
func clientDSN(spec *pb.ProvisionServer) string {
	return serverkind.ClientDSN(spec, "127.0.0.1:"+strconv.Itoa(serverkind.GuestPort))
}

// killStale kills a server left by an earlier agent process of this boot
// (init respawned the agent); /run is a tmpfs, so a pid file never
// survives a reset.
func killStale(path string, log *slog.Logger) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if syscall.Kill(pid, syscall.SIGKILL) == nil {
		log.Warn("killed server left by a previous agent", "pid", pid)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}
