package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/qemu"
)

// Defaults.
const (
	DefaultHeartbeatTimeout = 5 * time.Second
	DefaultHelloTimeout     = 10 * time.Second
)

type options struct {
	logf             func(format string, args ...any)
	accel            string
	heartbeatTimeout time.Duration
	helloTimeout     time.Duration
}

// Option configures a ControlPlane.
type Option func(*options)

// WithLogf sends the control plane's log lines to logf (default: log.Printf).
func WithLogf(logf func(format string, args ...any)) Option {
	return func(o *options) { o.logf = logf }
}

// WithAccel chooses QEMU's accelerator: "auto" (default: probe KVM, fall
// back to TCG), "kvm" or "tcg".
func WithAccel(accel string) Option { return func(o *options) { o.accel = accel } }

// startOptions are how the control plane starts QEMU. The wait for a VM
// slot is bounded by the starting call's context; a test that must wait
// longer holds its process's slot first (cptest.HoldVMSlot).
func (cp *ControlPlane) startOptions() []qemu.StartOption {
	return []qemu.StartOption{qemu.WithLogf(cp.logf)}
}

// WithHeartbeatTimeout is how long an agent stream may stay silent before
// it counts as dead (the agent sends a heartbeat every second).
func WithHeartbeatTimeout(d time.Duration) Option {
	return func(o *options) { o.heartbeatTimeout = d }
}

// WithHelloTimeout is how long a new stream may take to send its hello.
func WithHelloTimeout(d time.Duration) Option {
	return func(o *options) { o.helloTimeout = d }
}

// ControlPlane serves agents and owns the VMs it started.
type ControlPlane struct {
	pb.UnimplementedControlPlaneServer
	opts options
	lis  net.Listener
	gs   *grpc.Server
	wg   sync.WaitGroup

	mu  sync.Mutex
	vms map[string]*VM
	// agents maps the agent id of a VM's standby machines to the VM.
	agents map[string]*VM
	nextVM int
	closed bool
}

var _ pb.ControlPlaneServer = (*ControlPlane)(nil)

// New starts the control plane's gRPC service on a free port of 127.0.0.1:
// nothing listens beyond loopback (slirp lets guests reach it as 10.0.2.2).
func New(ctx context.Context, opts ...Option) (*ControlPlane, error) {
	o := options{logf: log.Printf, accel: "auto", heartbeatTimeout: DefaultHeartbeatTimeout, helloTimeout: DefaultHelloTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("control plane listen: %w", err)
	}
	cp := &ControlPlane{opts: o, lis: lis, gs: grpc.NewServer(), vms: map[string]*VM{}, agents: map[string]*VM{}}
	pb.RegisterControlPlaneServer(cp.gs, cp)
	cp.wg.Go(func() {
		if err := cp.gs.Serve(lis); err != nil {
			cp.logf("control plane: serve: %v", err)
		}
	})
	return cp, nil
}

// Addr is the host address agents dial (host loopback).
func (cp *ControlPlane) Addr() string { return cp.lis.Addr().String() }

// Port is the control plane's TCP port.
func (cp *ControlPlane) Port() int { return cp.lis.Addr().(*net.TCPAddr).Port }

func (cp *ControlPlane) logf(format string, args ...any) { cp.opts.logf(format, args...) }

// Close kills every VM still running and stops the service. Safe to call
// twice.
func (cp *ControlPlane) Close() error {
	cp.mu.Lock()
	if cp.closed {
		cp.mu.Unlock()
		return nil
	}
	cp.closed = true
	vms := make([]*VM, 0, len(cp.vms))
	for _, vm := range cp.vms {
		vms = append(vms, vm)
	}
	cp.mu.Unlock()
	for _, vm := range vms {
		vm.Kill()
	}
	// Stop, not GracefulStop: agent streams never end on their own.
	cp.gs.Stop()
	cp.wg.Wait()
	return nil
}

// newVM registers a VM identity with a fresh token.
func (cp *ControlPlane) newVM(id string) (*VM, error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.closed {
		return nil, errors.New("control plane is closed")
	}
	cp.nextVM++
	if id == "" {
		id = fmt.Sprintf("vm%d", cp.nextVM)
	}
	if _, dup := cp.vms[id]; dup {
		return nil, fmt.Errorf("VM id %q is taken", id)
	}
	if _, dup := cp.agents[id]; dup {
		return nil, fmt.Errorf("VM id %q is a standby's agent id", id)
	}
	vm := &VM{ID: id, cp: cp, token: hex.EncodeToString(tok), changed: make(chan struct{}),
		events: make(chan Event, 256), down: newDownSignal(), templates: templateState{mu: make(chanMutex, 1)}}
	vm.boots.expect() // its first boot
	cp.vms[id] = vm
	return vm, nil
}

func (cp *ControlPlane) forget(vm *VM) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.vms[vm.ID] == vm {
		delete(cp.vms, vm.ID)
	}
	for id, v := range cp.agents {
		if v == vm {
			delete(cp.agents, id)
		}
	}
}

// addAgentID lets the agent of a VM's standby machine in under its own id.
func (cp *ControlPlane) addAgentID(id string, vm *VM) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if _, dup := cp.vms[id]; dup {
		return fmt.Errorf("agent id %q is a VM's", id)
	}
	if _, dup := cp.agents[id]; dup {
		return fmt.Errorf("agent id %q is taken", id)
	}
	cp.agents[id] = vm
	return nil
}

func (cp *ControlPlane) lookup(id string) *VM {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if vm := cp.vms[id]; vm != nil {
		return vm
	}
	return cp.agents[id]
}

// Connect serves one agent stream.
func (cp *ControlPlane) Connect(stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command]) error {
	from := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		from = p.Addr.String()
	}
	first, err := recvTimeout(stream, cp.opts.helloTimeout)
	if err != nil {
		return status.Errorf(codes.DeadlineExceeded, "waiting for hello: %v", err)
	}
	hello := first.GetHello()
	if hello == nil {
		cp.logf("control plane: refused stream from %s: first message is not a hello", from)
		return status.Error(codes.InvalidArgument, "first message must be a hello")
	}
	vm := cp.lookup(hello.GetVmId())
	if vm == nil || subtle.ConstantTimeCompare([]byte(vm.token), []byte(hello.GetToken())) != 1 {
		cp.logf("control plane: refused stream from %s: wrong token for VM %q", from, hello.GetVmId())
		return status.Error(codes.PermissionDenied, "unknown VM or wrong token")
	}
	s, err := vm.attach(stream, hello)
	if err != nil {
		cp.logf("control plane: refused stream from %s for VM %s: %v", from, vm.ID, err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	cp.logf("control plane: VM %s: agent %s connected from %s (boot %s, server %v)", vm.ID, hello.GetAgentVersion(), from, short(hello.GetBootId()), hello.GetServer())
	if s.welcomeKey != "" {
		if err := s.send(&pb.Command{Cmd: &pb.Command_Welcome{Welcome: &pb.Welcome{SessionKey: s.welcomeKey, HostUnixNanos: time.Now().UnixNano()}}}); err != nil {
			vm.unadmit(s)
			vm.detach(s)
			return err
		}
	}
	err = s.serve(cp.opts.heartbeatTimeout)
	vm.detach(s)
	cp.logf("control plane: VM %s: agent stream of boot %s ended: %v", vm.ID, short(hello.GetBootId()), err)
	return err
}

// recvTimeout receives the first message. On timeout the handler returns,
// which cancels the stream and so ends the pending Recv.
func recvTimeout(stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command], d time.Duration) (*pb.AgentMessage, error) {
	type r struct {
		m   *pb.AgentMessage
		err error
	}
	ch := make(chan r, 1)
	go func() {
		m, err := stream.Recv()
		ch <- r{m, err}
	}()
	select {
	case res := <-ch:
		return res.m, res.err
	case <-time.After(d):
		return nil, fmt.Errorf("no hello within %s", d)
	}
}

func short(id string) string {
	// A machine restored from a standby template: "<kernel boot>~<resume>".
	if kernel, resume, ok := strings.Cut(id, "~"); ok {
		return short(kernel) + "~" + short(resume)
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// AddAgent registers a VM identity without starting QEMU, for an agent
// that runs elsewhere (tests of the agent itself). Its Token goes to the
// agent; Kill forgets it. It expects one boot; ExpectNewBoot admits the
// next.
func (cp *ControlPlane) AddAgent(id string) (*VM, error) { return cp.newVM(id) }
