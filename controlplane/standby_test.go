package controlplane

import (
	"errors"
	"io"
	"net"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// withFakeStandby makes an agent-only VM look like one whose machine has
// agent id a1 and which keeps a standby with agent id a1~standby1.
func withFakeStandby(t *testing.T) (*ControlPlane, *VM, *qemuVM) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	sb := &qemuVM{agentID: "a1~standby1"}
	sb.standbyBoots.expect()
	require.NoError(t, cp.addAgentID(sb.agentID, vm))
	vm.mu.Lock()
	vm.qemu = &qemuVM{agentID: "a1"}
	vm.standbys.machines = []*qemuVM{sb}
	vm.mu.Unlock()
	return cp, vm, sb
}

func TestStandbyAgentGetsItsOwnSession(t *testing.T) {
	cp, vm, sb := withFakeStandby(t)
	main := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"})
	main.welcome(t)
	_, err := vm.WaitAgent(ctxT(t, 10*time.Second))
	require.NoError(t, err)

	// The standby's agent, beside the VM's own live stream: accepted,
	// welcomed, and not the VM's session.
	st := dialAgent(t, cp, &pb.Hello{VmId: sb.agentID, Token: vm.Token(), BootId: "boot-sb"})
	key := st.welcome(t)
	require.Eventually(t, func() bool {
		vm.mu.Lock()
		defer vm.mu.Unlock()
		return sb.standbySess != nil
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "boot-1", vm.BootID(), "a standby's hello is no new boot of the VM")
	assert.Equal(t, "boot-sb", sb.standbyBoot)
	assert.Equal(t, key, sb.standbyBoots.key)

	// Its events are not the VM's.
	require.NoError(t, st.event(&pb.Event{Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{Kind: serverkind.Bundled, Code: 1}}}))
	select {
	case e := <-vm.Events():
		t.Fatalf("a standby's event reached the VM: %s", e)
	case <-time.After(300 * time.Millisecond):
	}

	refused := func(hello *pb.Hello, why string) {
		t.Helper()
		a := dialAgent(t, cp, hello)
		_, err := a.stream.Recv()
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%s: %v", why, err)
	}
	refused(&pb.Hello{VmId: sb.agentID, Token: vm.Token(), BootId: "boot-other"}, "a second boot of the standby")
	refused(&pb.Hello{VmId: sb.agentID, Token: "00000000000000000000000000000000", BootId: "boot-sb"}, "wrong token")
	refused(&pb.Hello{VmId: "a1~standby9", Token: vm.Token(), BootId: "boot-x"}, "a standby the VM does not have")
}

func TestStandbyAgentOfARetiredMachineIsRefused(t *testing.T) {
	cp, vm, sb := withFakeStandby(t)
	// The standby took over and then crashed itself: its agent id names
	// neither the VM's machine nor a standby any more.
	vm.mu.Lock()
	vm.standbys.machines = nil
	vm.mu.Unlock()
	a := dialAgent(t, cp, &pb.Hello{VmId: sb.agentID, Token: vm.Token(), BootId: "boot-sb"})
	_, err := a.stream.Recv()
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "got %v", err)
}

func TestPortProxyFollowsTheMachine(t *testing.T) {
	echo := func(reply string) string {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { lis.Close() })
		go func() {
			for {
				c, err := lis.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(reply))
				c.Close()
			}
		}()
		return lis.Addr().String()
	}
	first, second := echo("first"), echo("second")
	var backend atomic.Value
	backend.Store(first)
	p, err := newPortProxy(t.Context(), func() (string, bool) {
		addr := backend.Load().(string)
		return addr, addr != ""
	}, t.Logf)
	require.NoError(t, err)
	read := func() string {
		c, err := net.Dial("tcp", p.addr())
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	assert.Equal(t, "first", read())
	backend.Store(second)
	assert.Equal(t, "second", read(), "a new connection reaches the new machine")
	backend.Store("")
	assert.Empty(t, read(), "no machine: the connection is closed")

	// A connection held open by the machine ends with close.
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer hold.Close()
	held := make(chan net.Conn, 1)
	go func() {
		if c, err := hold.Accept(); err == nil {
			held <- c
		}
	}()
	backend.Store(hold.Addr().String())
	c, err := net.Dial("tcp", p.addr())
	require.NoError(t, err)
	defer c.Close()
	select {
	case hc := <-held:
		defer hc.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not connect to the machine")
	}
	p.close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(c)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "close ends a held connection: %v", err)
	_, err = net.Dial("tcp", p.addr())
	assert.Error(t, err, "a closed proxy accepts nothing")
}

// connectedFakeStandby is withFakeStandby with the standby's fake agent
// connected and welcomed, its session the standby's.
func connectedFakeStandby(t *testing.T) (*VM, *qemuVM, *fakeAgent) {
	cp, vm, sb := withFakeStandby(t)
	st := dialAgent(t, cp, &pb.Hello{VmId: sb.agentID, Token: vm.Token(), BootId: "boot-sb"})
	st.welcome(t)
	require.Eventually(t, func() bool {
		vm.mu.Lock()
		defer vm.mu.Unlock()
		return sb.standbySess != nil
	}, 10*time.Second, 10*time.Millisecond)
	return vm, sb, st
}

// A standby prepares the VM's server once per provisioning: one with a
// start gate is started ahead, any other warmed up (the agent says which).
func TestStandbyPreparesTheServerOncePerProvisioning(t *testing.T) {
	vm, sb, st := connectedFakeStandby(t)
	var prepares atomic.Int32
	st.serve(func(c *pb.Command) []*pb.Result {
		if c.GetPrepareServer() == nil {
			return []*pb.Result{{CommandId: c.GetId(), Error: "unexpected command"}}
		}
		prepares.Add(1)
		gated := c.GetPrepareServer().GetSpec().GetServer().GetStartGate() != nil
		r := &pb.ProvisionResult{Pid: 42}
		if !gated {
			r = &pb.ProvisionResult{Warmed: true}
		}
		return []*pb.Result{{CommandId: c.GetId(), Payload: &pb.Result_Provision{Provision: r}}}
	})
	ctx := ctxT(t, 10*time.Second)

	mariadb, err := ServerSpec{Kind: serverkind.MariaDB}.proto()
	require.NoError(t, err)
	require.Nil(t, mariadb.GetServer().GetStartGate(), "the MariaDB spec has no start gate")
	vm.mu.Lock()
	vm.spec = mariadb
	vm.mu.Unlock()
	require.NoError(t, vm.prepareStandbyServer(ctx, sb))
	require.NoError(t, vm.prepareStandbyServer(ctx, sb))
	assert.Equal(t, int32(1), prepares.Load(), "warmed up once per provisioning")

	bundled, err := ServerSpec{Kind: serverkind.Bundled, Version: "v1"}.proto()
	require.NoError(t, err)
	require.NotNil(t, bundled.GetServer().GetStartGate(), "the bundled spec has a start gate")
	vm.mu.Lock()
	vm.spec = bundled
	vm.mu.Unlock()
	require.NoError(t, vm.prepareStandbyServer(ctx, sb))
	require.NoError(t, vm.prepareStandbyServer(ctx, sb))
	assert.Equal(t, int32(2), prepares.Load(), "started ahead once per provisioning")
}

// A warm-up that fails is not tried again on the VM's later standbys
// (each would fail, and be waited for, in turn): they count as prepared
// and the attach starts the server cold.
func TestAFailedWarmUpIsNotRepeated(t *testing.T) {
	vm, sb, st := connectedFakeStandby(t)
	var prepares atomic.Int32
	st.serve(func(c *pb.Command) []*pb.Result {
		prepares.Add(1)
		return []*pb.Result{{CommandId: c.GetId(), Error: "prepare: warm mariadb up: init failed"}}
	})
	ctx := ctxT(t, 10*time.Second)
	mariadb, err := ServerSpec{Kind: serverkind.MariaDB}.proto()
	require.NoError(t, err)
	vm.mu.Lock()
	vm.spec = mariadb
	vm.mu.Unlock()
	err = vm.prepareStandbyServer(ctx, sb)
	require.ErrorContains(t, err, "init failed")
	assert.ErrorContains(t, err, "no more warm-ups")
	vm.mu.Lock()
	sb.serverPrepared = nil // as a later standby of the VM, restored
	sb.prepared = true
	vm.mu.Unlock()
	require.NoError(t, vm.prepareStandbyServer(ctx, sb))
	assert.Equal(t, int32(1), prepares.Load(), "one warm-up tried")
	assert.Equal(t, 1, vm.StandbysReady(), "the standby counts as ready")
}

// TestShellQuoteSurvivesSh: QEMU runs an exec: migration URI through sh, and
// a test directory may hold any character.
func TestShellQuoteSurvivesSh(t *testing.T) {
	for _, path := range []string{"/tmp/a b/state", "/tmp/it's/$HOME/`x`/\\/state", "/tmp/seed=1,x/state"} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(path)).Output()
		require.NoError(t, err)
		assert.Equal(t, path, string(out))
	}
}
