package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// logBuffer collects the control plane's log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuffer) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func newTestCP(t *testing.T, opts ...Option) (*ControlPlane, *logBuffer) {
	t.Helper()
	lb := &logBuffer{t: t}
	cp, err := New(t.Context(), append([]Option{WithLogf(lb.logf)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { cp.Close() })
	return cp, lb
}

// fakeAgent speaks the agent side of the protocol over real gRPC.
type fakeAgent struct {
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[pb.AgentMessage, pb.Command]
	cancel context.CancelFunc
	mu     sync.Mutex
	key    string // from the Welcome
}

func dialAgent(t *testing.T, cp *ControlPlane, hello *pb.Hello) *fakeAgent {
	t.Helper()
	conn, err := grpc.NewClient(cp.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := pb.NewControlPlaneClient(conn).Connect(ctx)
	require.NoError(t, err)
	a := &fakeAgent{conn: conn, stream: stream, cancel: cancel}
	t.Cleanup(a.close)
	require.NoError(t, a.send(&pb.AgentMessage{Msg: &pb.AgentMessage_Hello{Hello: hello}}))
	return a
}

func (a *fakeAgent) close() {
	a.cancel()
	a.conn.Close()
}

func (a *fakeAgent) send(m *pb.AgentMessage) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stream.Send(m)
}

func (a *fakeAgent) reply(r *pb.Result) error {
	return a.send(&pb.AgentMessage{Msg: &pb.AgentMessage_Result{Result: r}})
}

func (a *fakeAgent) event(e *pb.Event) error {
	return a.send(&pb.AgentMessage{Msg: &pb.AgentMessage_Event{Event: e}})
}

// welcome receives the Welcome that starts a new boot's first stream.
func (a *fakeAgent) welcome(t *testing.T) string {
	t.Helper()
	c, err := a.stream.Recv()
	require.NoError(t, err)
	require.NotNil(t, c.GetWelcome(), "first command: %v", c)
	require.NotEmpty(t, c.GetWelcome().GetSessionKey())
	a.mu.Lock()
	defer a.mu.Unlock()
	a.key = c.GetWelcome().GetSessionKey()
	return a.key
}

// serve answers commands with handle until the stream ends.
func (a *fakeAgent) serve(handle func(*pb.Command) []*pb.Result) chan error {
	done := make(chan error, 1)
	go func() {
		for {
			c, err := a.stream.Recv()
			if err != nil {
				done <- err
				return
			}
			if w := c.GetWelcome(); w != nil {
				a.mu.Lock()
				a.key = w.GetSessionKey()
				a.mu.Unlock()
				continue
			}
			for _, r := range handle(c) {
				r.CommandId = c.GetId()
				if err := a.reply(r); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	return done
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestListensOnLoopbackOnly(t *testing.T) {
	cp, _ := newTestCP(t)
	host, _, err := net.SplitHostPort(cp.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotZero(t, cp.Port())
}

func TestHelloAndCommands(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1", AgentVersion: "test"})
	var synced int
	ag.serve(func(c *pb.Command) []*pb.Result {
		switch x := c.GetCmd().(type) {
		case *pb.Command_SyncFilesystems:
			synced++
			return []*pb.Result{{}}
		case *pb.Command_Exec:
			if x.Exec.GetArgv()[0] == "fail" {
				return []*pb.Result{{Error: "no such command"}}
			}
			return []*pb.Result{{Payload: &pb.Result_Exec{Exec: &pb.ExecResult{ExitCode: 3, Output: []byte(strings.Join(x.Exec.GetArgv(), " "))}}}}
		}
		return []*pb.Result{{Error: "unexpected"}}
	})
	ctx := ctxT(t, 10*time.Second)
	boot, err := vm.WaitAgent(ctx)
	require.NoError(t, err)
	assert.Equal(t, "boot-1", boot)

	require.NoError(t, vm.Sync(ctx))
	assert.Equal(t, 1, synced)
	code, out, err := vm.Exec(ctx, "echo", "hi")
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Equal(t, "echo hi", out)
	_, _, err = vm.Exec(ctx, "fail")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no such command", "an agent error reaches the caller")
}

func TestWrongTokenIsRefusedAndLogged(t *testing.T) {
	cp, lb := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	for name, hello := range map[string]*pb.Hello{
		"wrong token": {VmId: "a1", Token: strings.Repeat("0", 32), BootId: "b"},
		"other VM":    {VmId: "nope", Token: vm.Token(), BootId: "b"},
	} {
		t.Run(name, func(t *testing.T) {
			ag := dialAgent(t, cp, hello)
			_, err := ag.stream.Recv()
			assert.Equal(t, codes.PermissionDenied, status.Code(err), "got %v", err)
		})
	}
	assert.True(t, lb.contains("wrong token"), "refusal is logged: %v", lb.lines)
	ctx := ctxT(t, 200*time.Millisecond)
	_, err = vm.WaitAgent(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "no session was attached")
}

func dialRaw(t *testing.T, cp *ControlPlane) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(cp.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestNotHelloFirstIsRefused(t *testing.T) {
	cp, _ := newTestCP(t)
	conn := dialRaw(t, cp)
	stream, err := pb.NewControlPlaneClient(conn).Connect(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&pb.AgentMessage{Msg: &pb.AgentMessage_Heartbeat{Heartbeat: &pb.Heartbeat{}}}))
	_, err = stream.Recv()
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestSecondLiveStreamRefusedReconnectAccepted(t *testing.T) {
	cp, lb := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ctx := ctxT(t, 10*time.Second)
	first := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"})
	_, err = vm.WaitAgent(ctx)
	require.NoError(t, err)

	key := first.welcome(t)

	second := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1", SessionKey: key})
	_, err = second.stream.Recv()
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "a reused token while its stream is live: %v", err)
	assert.True(t, lb.contains("another stream of this VM is live"))

	// The first stream dies; the same boot reconnects with its key.
	first.close()
	waitDetached(t, vm)
	third := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1", SessionKey: key})
	third.serve(func(*pb.Command) []*pb.Result { return []*pb.Result{{}} })
	require.NoError(t, vm.Sync(ctx))
	assert.Equal(t, "boot-1", vm.BootID())

	// A new boot is let in once it is expected (HardReset expects it).
	third.close()
	waitDetached(t, vm)
	vm.ExpectNewBoot()
	fourth := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2"})
	fourth.serve(func(*pb.Command) []*pb.Result { return []*pb.Result{{}} })
	require.NoError(t, vm.Sync(ctx))
	assert.Equal(t, "boot-2", vm.BootID())
}

func waitDetached(t *testing.T, vm *VM) {
	t.Helper()
	require.Eventually(t, func() bool {
		vm.mu.Lock()
		defer vm.mu.Unlock()
		return vm.sess == nil
	}, 5*time.Second, 10*time.Millisecond)
}

// TestWhatPsShowsCannotTakeOverTheAgent plays a local process that read the
// VM's QEMU command line (VM id, control-plane port; before fw_cfg also
// the token) and tries to become the VM's agent.
func TestWhatPsShowsCannotTakeOverTheAgent(t *testing.T) {
	cp, lb := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ctx := ctxT(t, 10*time.Second)
	agent := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"})
	key := agent.welcome(t)
	refused := func(t *testing.T, hello *pb.Hello, why string) {
		t.Helper()
		thief := dialAgent(t, cp, hello)
		_, err := thief.stream.Recv()
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%s: %v", why, err)
	}

	t.Run("without the token", func(t *testing.T) {
		refused(t, &pb.Hello{VmId: "a1", BootId: "boot-1"}, "no token")
		refused(t, &pb.Hello{VmId: "a1", BootId: "boot-x"}, "no token, new boot")
	})
	t.Run("with the token, beside the live agent", func(t *testing.T) {
		refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"}, "same boot")
		refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-x"}, "a boot nobody started")
	})
	// The agent's stream breaks (as around a reset): the window where the
	// old rule let the first comer in.
	agent.close()
	waitDetached(t, vm)
	t.Run("with the token, while the agent is away", func(t *testing.T) {
		refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"}, "same boot without its session key")
		refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1", SessionKey: strings.Repeat("0", 32)}, "wrong session key")
		refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-x"}, "a boot nobody started")
	})
	assert.True(t, lb.contains("refused stream from 127.0.0.1:"), "refusals are logged with the peer address: %v", lb.lines)
	assert.True(t, lb.contains("no new boot is expected"), "%v", lb.lines)
	assert.True(t, lb.contains("without its session key"), "%v", lb.lines)

	// The real agent comes back with its key and commands reach it.
	back := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1", SessionKey: key})
	back.serve(func(*pb.Command) []*pb.Result { return []*pb.Result{{}} })
	require.NoError(t, vm.Sync(ctx))

	// An expected new boot admits exactly one hello: the first.
	back.close()
	waitDetached(t, vm)
	vm.ExpectNewBoot()
	next := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2"})
	next.welcome(t)
	next.close()
	waitDetached(t, vm)
	refused(t, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-3"}, "a second new boot for one reset")
}

func TestEventsDelivered(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"})
	require.NoError(t, ag.event(&pb.Event{UnixNanos: time.Now().UnixNano(), Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{
		Kind: serverkind.MariaDB, Pid: 42, Code: -1, Signal: "killed", LogTail: []string{"line 1", "line 2"}}}}))
	require.NoError(t, ag.event(&pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: "[ERROR] InnoDB: corruption", Pattern: `\[ERROR\]`}}}))
	for _, want := range []string{"signal killed", "corruption"} {
		select {
		case e := <-vm.Events():
			assert.Contains(t, e.String(), want)
			assert.Equal(t, "boot-1", e.BootID)
			if e.ServerExited != nil {
				assert.Equal(t, []string{"line 1", "line 2"}, e.ServerExited.GetLogTail())
				assert.Contains(t, e.String(), "  | line 2")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %q not delivered", want)
		}
	}
}

func TestAgentLostFailsPendingCommand(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "b"})
	ctx := ctxT(t, 10*time.Second)
	ag.serve(func(*pb.Command) []*pb.Result {
		ag.close() // dies mid-command, like a reset VM
		return nil
	})
	err = vm.Sync(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAgentLost)
}

func TestSilentAgentIsDropped(t *testing.T) {
	cp, lb := newTestCP(t, WithHeartbeatTimeout(300*time.Millisecond))
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "b"})
	ag.welcome(t)
	_, err = ag.stream.Recv()
	require.Error(t, err, "the control plane ends a stream that stays silent")
	assert.True(t, lb.contains("no message from the agent"), "%v", lb.lines)
}

func TestInstallStreamsChunksWithChecksum(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "b"})
	var got bytes.Buffer
	var chunks int
	var sum string
	ag.serve(func(c *pb.Command) []*pb.Result {
		in := c.GetInstallServer()
		if int64(got.Len()) != in.GetOffset() {
			return []*pb.Result{{Error: "bad offset"}}
		}
		got.Write(in.GetData())
		chunks++
		if !in.GetLast() {
			return nil
		}
		sum = in.GetSha256()
		return []*pb.Result{{Payload: &pb.Result_Install{Install: &pb.InstallResult{Size: int64(got.Len())}}}}
	})
	data := bytes.Repeat([]byte("crashrig"), (5<<20)/16) // 2.5 MiB
	path := filepath.Join(t.TempDir(), "bin")
	require.NoError(t, os.WriteFile(path, data, 0o755))
	require.NoError(t, vm.Install(ctxT(t, 10*time.Second), "crashrig-sqlserver", "1", path))
	assert.Equal(t, data, got.Bytes())
	assert.Equal(t, 3, chunks, "1 MiB chunks")
	want := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(want[:]), sum)
}

func TestCollectReassemblesChunks(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "b"})
	ag.serve(func(c *pb.Command) []*pb.Result {
		var rs []*pb.Result
		for i := range 40 { // more than the pending buffer: flow control works
			rs = append(rs, &pb.Result{More: true, Payload: &pb.Result_Chunk{Chunk: &pb.FileChunk{Data: []byte(fmt.Sprintf("%02d", i))}}})
		}
		return append(rs, &pb.Result{})
	})
	var out bytes.Buffer
	require.NoError(t, vm.Collect(ctxT(t, 10*time.Second), []string{"/data"}, &out))
	assert.Equal(t, 80, out.Len())
	assert.True(t, strings.HasPrefix(out.String(), "000102"))
}

func TestKillEndsWaiters(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	go func() {
		time.Sleep(100 * time.Millisecond)
		vm.Kill()
	}()
	_, err = vm.WaitAgent(ctxT(t, 10*time.Second))
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "Kill ends the wait at once: %v", err)
	assert.Nil(t, cp.lookup("a1"))
}

func TestServerSpecDefaults(t *testing.T) {
	ps, err := ServerSpec{Kind: serverkind.MariaDB}.proto()
	require.NoError(t, err)
	assert.Len(t, ps.GetRootPassword(), 16, "a random root password")
	_, err = ServerSpec{Kind: "oracle"}.proto()
	assert.Error(t, err)
	dsn := serverkind.ClientDSN(&pb.ProvisionServer{RootPassword: "pw", Database: "db"}, "127.0.0.1:1234")
	assert.True(t, strings.HasPrefix(dsn, "root:pw@tcp(127.0.0.1:1234)/db?"), dsn)
}
