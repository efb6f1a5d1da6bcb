package controlplane

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// ErrAgentLost means the agent's stream ended while a command was pending
// (the VM was reset, or the agent died).
var ErrAgentLost = errors.New("agent stream ended")

// session is one live agent stream.
type session struct {
	vm     *VM
	bootID string
	stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command]
	// welcomeKey, when set, is the session key of a new boot, sent as the
	// stream's first command.
	welcomeKey string

	ctx    context.Context
	cancel context.CancelCauseFunc

	sendMu sync.Mutex // gRPC allows one sender at a time

	lastSeen atomic.Int64 // unix nanos of the last message

	mu      sync.Mutex
	pending map[string]chan *pb.Result
	retired bool
}

func newSession(vm *VM, stream grpc.BidiStreamingServer[pb.AgentMessage, pb.Command], bootID string) *session {
	ctx, cancel := context.WithCancelCause(stream.Context())
	s := &session{vm: vm, bootID: bootID, stream: stream, ctx: ctx, cancel: cancel, pending: map[string]chan *pb.Result{}}
	s.lastSeen.Store(time.Now().UnixNano())
	return s
}

// serve receives until the stream breaks, the agent goes silent, or the
// session is retired.
func (s *session) serve(heartbeatTimeout time.Duration) error {
	defer s.cancel(ErrAgentLost)
	// Recv does not watch s.ctx: it runs on its own goroutine, which ends
	// when the handler returns (gRPC then cancels the stream).
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := s.stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			s.lastSeen.Store(time.Now().UnixNano())
			s.dispatch(m)
		}
	}()
	tick := time.NewTicker(heartbeatTimeout / 4)
	defer tick.Stop()
	for {
		select {
		case err := <-recvErr:
			return err
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		case <-tick.C:
			if silent := time.Since(time.Unix(0, s.lastSeen.Load())); silent > heartbeatTimeout {
				return fmt.Errorf("no message from the agent for %s", silent.Round(time.Millisecond))
			}
		}
	}
}

func (s *session) dispatch(m *pb.AgentMessage) {
	switch msg := m.GetMsg().(type) {
	case *pb.AgentMessage_Heartbeat:
	case *pb.AgentMessage_Result:
		s.deliver(msg.Result)
	case *pb.AgentMessage_Event:
		s.vm.onEvent(s, msg.Event)
	case *pb.AgentMessage_Hello:
		s.vm.logf("VM %s: ignoring a second hello on one stream", s.vm.ID)
	}
}

// deliver hands a result to the waiting caller. It blocks while the caller
// is behind (a tar stream), which holds the agent back by gRPC flow
// control instead of buffering without bound.
func (s *session) deliver(r *pb.Result) {
	s.mu.Lock()
	ch := s.pending[r.GetCommandId()]
	s.mu.Unlock()
	if ch == nil {
		s.vm.logf("VM %s: result for unknown command %q dropped", s.vm.ID, r.GetCommandId())
		return
	}
	select {
	case ch <- r:
	case <-s.ctx.Done():
	}
}

// retire ends the session on purpose (the VM was reset or killed: its
// stream belongs to a boot that is gone), so a new stream is accepted at
// once.
func (s *session) retire(why error) {
	s.mu.Lock()
	s.retired = true
	s.mu.Unlock()
	s.cancel(why)
}

func (s *session) isRetired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired || s.ctx.Err() != nil
}

func (s *session) send(c *pb.Command) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrAgentLost, context.Cause(s.ctx))
	}
	if err := s.stream.Send(c); err != nil {
		return fmt.Errorf("send command: %w", err)
	}
	return nil
}

var commandSeq atomic.Uint64

// exchange is one command in flight: its command messages and results.
type exchange struct {
	s  *session
	id string
	ch chan *pb.Result
}

func (s *session) begin() *exchange {
	x := &exchange{s: s, id: fmt.Sprintf("c%d", commandSeq.Add(1)), ch: make(chan *pb.Result, 16)}
	s.mu.Lock()
	s.pending[x.id] = x.ch
	s.mu.Unlock()
	return x
}

// call sends c on s and waits for its result.
func (s *session) call(ctx context.Context, c *pb.Command) (*pb.Result, error) {
	x := s.begin()
	defer x.close()
	if err := x.send(c); err != nil {
		return nil, err
	}
	return x.recv(ctx)
}

func (x *exchange) send(c *pb.Command) error {
	c.Id = x.id
	return x.s.send(c)
}

// recv waits for the next result; a result carrying an error becomes the
// error.
func (x *exchange) recv(ctx context.Context) (*pb.Result, error) {
	got := func(r *pb.Result) (*pb.Result, error) {
		if r.GetError() != "" {
			return r, fmt.Errorf("agent: %s", r.GetError())
		}
		return r, nil
	}
	// A result that arrived just before the stream ended still counts.
	select {
	case r := <-x.ch:
		return got(r)
	default:
	}
	select {
	case r := <-x.ch:
		return got(r)
	case <-x.s.ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrAgentLost, context.Cause(x.s.ctx))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (x *exchange) close() {
	x.s.mu.Lock()
	delete(x.s.pending, x.id)
	x.s.mu.Unlock()
}

// execTimeout is the agent-side timeout of an Exec: the caller's deadline,
// rounded up to a second, so that a command the caller no longer waits for
// does not run on; 0 (the agent's default) without a deadline.
func execTimeout(ctx context.Context) int32 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	secs := math.Ceil(time.Until(dl).Seconds())
	return int32(min(max(secs, 1), math.MaxInt32))
}
