package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// Paths are the guest locations the agent uses; tests point them at a
// temporary directory.
type Paths struct {
	State   string // durable agent state on the root disk
	Data    string // mount point of the data disk
	Servers string // installed server builds
	Run     string // per-boot runtime files (tmpfs)
	Warm    string // throwaway data for warming a server up (root disk)
	Log     string // the agent's log file
}

var defaultPaths = Paths{
	State:   serverkind.GuestStateDir,
	Data:    serverkind.GuestDataDir,
	Servers: serverkind.GuestServersDir,
	Run:     serverkind.GuestRunDir,
	Warm:    serverkind.GuestWarmDir,
	Log:     serverkind.GuestAgentLog,
}

// Reconnect pacing: a reset VM must find the control plane again quickly,
// so the first retry comes after 50 ms, and none waits more than a second.
const (
	reconnectMin      = 50 * time.Millisecond
	reconnectMax      = time.Second
	heartbeatInterval = time.Second
)

// sendAttempts is how many sessions may try to send one event: an event
// that broke the stream that often is dropped (and logged), never
// re-queued forever.
const sendAttempts = 3

// parkCloseTimeout bounds the wait for the control plane to end a parked
// agent's stream.
const parkCloseTimeout = 5 * time.Second

// sessionKeyFile (under Paths.Run, a per-boot tmpfs) keeps the boot's
// session key for an agent that init respawns within the same boot.
const sessionKeyFile = "session-key"

// queuedEvent is an event waiting for a stream.
type queuedEvent struct {
	ev       *pb.Event
	attempts int
}

// Agent is the in-guest side of the protocol.
type Agent struct {
	cfg    config
	bootID string
	log    *slog.Logger
	paths  Paths

	// kernelBootID is the kernel's boot id; bootID adds the resume id of a
	// machine restored from a standby template (bootIDFor).
	kernelBootID string
	// cfgPath is where the config was read (the template's agent polls it
	// while parked, resume.go).
	cfgPath string
	// parking is set by a Park command: the session ends after its
	// answer, and Run waits for a resume instead of reconnecting.
	parking atomic.Bool
	// resume hooks: the machine's random state and clock (stubbed by
	// tests, which must not reseed or set the host's).
	reseed   func(seed []byte) error
	setClock func(unixNanos int64) error
	modprobe func(ctx context.Context, module string) error

	server  *serverManager
	install *installer
	// events queue up while no stream is open and are sent by the next one.
	events chan queuedEvent

	keyMu      sync.Mutex
	sessionKey string // this boot's, from the control plane's Welcome

	bg sync.WaitGroup // background work owned by the agent (restore)
}

// NewAgent makes an agent; it loads the durable provisioning spec, if any,
// so that the first hello already says a server is provisioned.
func NewAgent(cfg config, bootID string, paths Paths, log *slog.Logger, hs *health.Server) (*Agent, error) {
	a := &Agent{cfg: cfg, bootID: bootIDFor(bootID, cfg), kernelBootID: bootID, log: log, paths: paths,
		events: make(chan queuedEvent, 1024), reseed: reseedRandom, setClock: setRealtimeClock, modprobe: modprobe}
	a.sessionKey = a.loadSessionKey()
	a.install = &installer{root: paths.Servers}
	sm, err := newServerManager(paths, log, a.emit, hs)
	if err != nil {
		return nil, err
	}
	a.server = sm
	return a, nil
}

// StartRestore brings a provisioned server back in the background.
func (a *Agent) StartRestore(ctx context.Context) {
	a.bg.Go(func() {
		// A failure is logged and reported (RestoreFailed) by Restore.
		_ = a.server.Restore(ctx)
	})
}

// Close waits for background work and stops watching the server (the
// server process itself keeps running).
func (a *Agent) Close() {
	a.bg.Wait()
	a.server.Close()
}

// emit queues an event for the control plane; it never blocks the caller
// (a server watcher must not stall because the control plane is away).
// Oversized events are cut down first (boundEvent).
func (a *Agent) emit(ev *pb.Event) {
	if ev.UnixNanos == 0 {
		ev.UnixNanos = time.Now().UnixNano()
	}
	if !boundEvent(ev) {
		a.log.Error("event too large even after truncation; dropping it", "kind", fmt.Sprintf("%T", ev.GetKind()))
		return
	}
	a.queue(queuedEvent{ev: ev})
}

func (a *Agent) queue(q queuedEvent) {
	select {
	case a.events <- q:
	default:
		a.log.Warn("event queue full; dropping event", "kind", fmt.Sprintf("%T", q.ev.GetKind()))
	}
}

// loadSessionKey returns the key a previous agent process of this boot
// got ("" if none).
func (a *Agent) loadSessionKey() string {
	b, err := os.ReadFile(filepath.Join(a.paths.Run, sessionKeyFile))
	if err != nil {
		return ""
	}
	boot, key, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if boot != a.bootID {
		return ""
	}
	return key
}

// setSessionKey keeps the boot's session key, in memory and in the
// per-boot runtime directory (root only).
func (a *Agent) setSessionKey(key string) {
	a.keyMu.Lock()
	a.sessionKey = key
	a.keyMu.Unlock()
	if err := os.MkdirAll(a.paths.Run, 0o700); err != nil {
		a.log.Warn("keep session key", "err", err)
		return
	}
	// tmpfs: no fsync needed, only a whole file or none.
	path := filepath.Join(a.paths.Run, sessionKeyFile)
	err := os.WriteFile(path+".tmp", []byte(a.bootID+" "+key+"\n"), 0o600)
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		a.log.Warn("keep session key", "err", err)
	}
}

func (a *Agent) currentSessionKey() string {
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	return a.sessionKey
}

// useConfig takes the config read at path (before Run): the boot id of a
// restored machine includes its resume id, and so does the key of its
// session.
func (a *Agent) useConfig(cfg config, path string) {
	a.cfg, a.cfgPath = cfg, path
	a.bootID = bootIDFor(a.kernelBootID, cfg)
	a.keyMu.Lock()
	a.sessionKey = a.loadSessionKey()
	a.keyMu.Unlock()
}

// Run keeps a session with the control plane open until ctx ends,
// reconnecting after every failure. After a Park it waits for the
// machine to be restored from a snapshot (awaitResume) and then connects
// as the restored machine's agent.
func (a *Agent) Run(ctx context.Context) {
	for ctx.Err() == nil {
		a.connect(ctx)
		if ctx.Err() != nil || !a.parking.Load() {
			return
		}
		if err := a.awaitResume(ctx); err != nil {
			if ctx.Err() == nil {
				a.log.Error("resume from a standby template", "err", err)
			}
			return
		}
	}
}

// connect runs sessions over one client connection until ctx ends or the
// agent parks.
func (a *Agent) connect(ctx context.Context) {
	conn, err := grpc.NewClient(a.cfg.CP,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: reconnectMin, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMax},
			// slirp completes the TCP handshake itself; a short attempt
			// timeout keeps a stuck attempt from delaying the next one.
			MinConnectTimeout: 2 * time.Second,
		}))
	if err != nil {
		a.log.Error("grpc client", "err", err)
		return
	}
	defer conn.Close()
	client := pb.NewControlPlaneClient(conn)
	delay := reconnectMin
	for ctx.Err() == nil {
		start := time.Now()
		err := a.session(ctx, client)
		if ctx.Err() != nil || a.parking.Load() {
			return
		}
		a.log.Warn("control plane session ended", "err", err, "lasted", time.Since(start).Round(time.Millisecond))
		if time.Since(start) > 5*time.Second {
			delay = reconnectMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, reconnectMax)
	}
}

// session runs one stream: hello, then commands in order, heartbeats and
// events beside them. It returns when the stream breaks.
func (a *Agent) session(ctx context.Context, client pb.ControlPlaneClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Connect(ctx, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s := &streamSender{stream: stream}
	hello := &pb.Hello{VmId: a.cfg.VMID, Token: a.cfg.Token, BootId: a.bootID,
		AgentVersion: version, Server: a.server.Status(), SessionKey: a.currentSessionKey()}
	if err := s.send(&pb.AgentMessage{Msg: &pb.AgentMessage_Hello{Hello: hello}}); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	a.log.Info("connected to control plane", "cp", a.cfg.CP)

	// Deferred in reverse: stop the helpers, wait for them, then drop an
	// unfinished upload (the command worker no longer touches it).
	defer a.install.abort()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// Commands run one at a time in arrival order (install chunks depend on
	// it) on their own goroutine, so a long provisioning never delays a
	// heartbeat. Exec commands run each on their own goroutine: a slow one
	// must not stall the agent.
	cmds := make(chan *pb.Command, 64)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-cmds:
				a.handle(ctx, s, c)
				if a.parking.Load() {
					// Answered: half-close, so the answer goes out and the
					// control plane ends the stream; the connection closes
					// in Run, before the snapshot is taken.
					s.closeSend()
					select {
					case <-ctx.Done():
					case <-time.After(parkCloseTimeout):
						cancel()
					}
					return
				}
			}
		}
	})
	wg.Go(func() { a.pump(ctx, s) })
	for {
		c, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		switch {
		case c.GetWelcome() != nil:
			a.setSessionKey(c.GetWelcome().GetSessionKey())
			a.welcomed(c.GetWelcome())
			continue
		case c.GetExec() != nil:
			wg.Go(func() { a.handle(ctx, s, c) })
			continue
		}
		select {
		case cmds <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pump sends heartbeats and queued events until ctx ends.
func (a *Agent) pump(ctx context.Context, s *streamSender) {
	tick := time.NewTicker(heartbeatInterval)
	defer tick.Stop()
	for {
		var msg *pb.AgentMessage
		var q queuedEvent
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			msg = &pb.AgentMessage{Msg: &pb.AgentMessage_Heartbeat{Heartbeat: &pb.Heartbeat{}}}
		case q = <-a.events:
			msg = &pb.AgentMessage{Msg: &pb.AgentMessage_Event{Event: q.ev}}
		}
		if err := s.send(msg); err != nil {
			if q.ev != nil {
				// Not delivered: keep it for the next session, unless it
				// has broken streams before (then it is the cause).
				if q.attempts++; q.attempts < sendAttempts {
					a.queue(q)
				} else {
					a.log.Error("event failed to send; dropping it", "attempts", q.attempts, "kind", fmt.Sprintf("%T", q.ev.GetKind()), "err", err)
				}
			}
			return
		}
	}
}

// streamSender serialises sends: gRPC streams allow one sender at a time.
type streamSender struct {
	mu     sync.Mutex
	stream grpc.BidiStreamingClient[pb.AgentMessage, pb.Command]
}

func (s *streamSender) send(m *pb.AgentMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(m)
}

// closeSend half-closes the stream: sent messages still arrive.
func (s *streamSender) closeSend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.CloseSend()
}

func (s *streamSender) result(r *pb.Result) error {
	return s.send(&pb.AgentMessage{Msg: &pb.AgentMessage_Result{Result: r}})
}

// handle executes one command and sends its result(s).
func (a *Agent) handle(ctx context.Context, s *streamSender, c *pb.Command) {
	start := time.Now()
	res := &pb.Result{CommandId: c.GetId()}
	var err error
	switch cmd := c.GetCmd().(type) {
	case *pb.Command_InstallServer:
		r, done, ierr := a.install.chunk(c.GetId(), cmd.InstallServer)
		if !done {
			return // more chunks to come; answered after the last
		}
		res.Payload, err = &pb.Result_Install{Install: r}, ierr
	case *pb.Command_ProvisionServer:
		var r *pb.ProvisionResult
		r, err = a.server.Provision(ctx, cmd.ProvisionServer)
		res.Payload = &pb.Result_Provision{Provision: r}
	case *pb.Command_AttachServer:
		var r *pb.ProvisionResult
		r, err = a.server.Attach(ctx, cmd.AttachServer.GetSpec())
		res.Payload = &pb.Result_Provision{Provision: r}
	case *pb.Command_PrepareServer:
		var r *pb.ProvisionResult
		r, err = a.server.Prepare(ctx, cmd.PrepareServer.GetSpec())
		res.Payload = &pb.Result_Provision{Provision: r}
	case *pb.Command_DetachServer:
		err = a.server.Detach(ctx)
	case *pb.Command_Park:
		err = a.park(ctx, cmd.Park.GetFsType())
	case *pb.Command_StopServer:
		err = a.server.Stop(ctx, cmd.StopServer.GetClean(), cmd.StopServer.GetDeleteData())
	case *pb.Command_SyncFilesystems:
		syncFilesystems()
	case *pb.Command_CollectFiles:
		paths := cmd.CollectFiles.GetPaths()
		if len(paths) == 0 {
			paths = append(a.server.DataPaths(), a.paths.Log)
		}
		err = collect(ctx, paths, func(chunk []byte) error {
			return s.result(&pb.Result{CommandId: c.GetId(), More: true,
				Payload: &pb.Result_Chunk{Chunk: &pb.FileChunk{Data: chunk}}})
		})
	case *pb.Command_InjectFault:
		var r *pb.FaultResult
		r, err = a.server.InjectFault(ctx, cmd.InjectFault)
		res.Payload = &pb.Result_Fault{Fault: r}
	case *pb.Command_ClearFault:
		err = a.server.ClearFault(ctx)
	case *pb.Command_Exec:
		var r *pb.ExecResult
		r, err = execCommand(ctx, cmd.Exec.GetArgv(), time.Duration(cmd.Exec.GetTimeoutSeconds())*time.Second)
		res.Payload = &pb.Result_Exec{Exec: r}
	default:
		err = errors.New("unknown command")
	}
	if err != nil {
		res.Error = err.Error()
		a.log.Error("command failed", "id", c.GetId(), "cmd", fmt.Sprintf("%T", c.GetCmd()), "err", err)
	} else {
		a.log.Info("command done", "id", c.GetId(), "cmd", fmt.Sprintf("%T", c.GetCmd()), "took", time.Since(start).Round(time.Millisecond))
	}
	if serr := s.result(res); serr != nil {
		a.log.Warn("send result", "id", c.GetId(), "err", serr)
	}
}
