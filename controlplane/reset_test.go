package controlplane

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// provisionedAgentVM is an agent-only VM whose control plane believes a
// server is provisioned, its boot-1 agent connected with the server ready.
func provisionedAgentVM(t *testing.T) (*ControlPlane, *VM) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	vm.mu.Lock()
	vm.spec = &pb.ProvisionServer{Kind: serverkind.MariaDB}
	vm.mu.Unlock()
	dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1",
		Server: &pb.ServerStatus{Provisioned: true, Ready: true}})
	_, err = vm.WaitAgent(ctxT(t, 10*time.Second))
	require.NoError(t, err)
	return cp, vm
}

type resetOutcome struct {
	res ResetResult
	err error
}

// afterReset does what HardReset does around system_reset (the new boot is
// expected, the old boot's stream, still open through slirp, is retired)
// and waits in the background.
func afterReset(ctx context.Context, vm *VM) <-chan resetOutcome {
	vm.ExpectNewBoot()
	vm.retire(errReset)
	out := make(chan resetOutcome, 1)
	go func() {
		res, err := vm.comeBack(ctx, "boot-1", ResetResult{Timeline: ResetTimeline{Sent: time.Now()}})
		out <- resetOutcome{res, err}
	}()
	return out
}

func TestResetWaitsForTheNewBootsServer(t *testing.T) {
	cp, vm := provisionedAgentVM(t)
	done := afterReset(ctxT(t, 10*time.Second), vm)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2",
		Server: &pb.ServerStatus{Provisioned: true}})
	select {
	case o := <-done:
		t.Fatalf("ready before the server reported ready: %+v", o)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, ag.event(&pb.Event{Kind: &pb.Event_ServerReady{ServerReady: &pb.ServerReady{
		Kind: serverkind.MariaDB, UptimeSeconds: 4.5, RecoveryNanos: proto.Int64(int64(1500 * time.Millisecond))}}}))
	o := <-done
	require.NoError(t, o.err)
	assert.Equal(t, "boot-2", o.res.BootID)
	assert.True(t, o.res.RecoveryReported)
	assert.Equal(t, 1500*time.Millisecond, o.res.ServerRecovery, "the server's own recovery time, as the agent sent it")
	assert.Equal(t, 4500*time.Millisecond, o.res.GuestUptime)
	tl := o.res.Timeline
	assert.Positive(t, tl.AgentBack)
	assert.GreaterOrEqual(t, tl.ServerReady, tl.AgentBack)
	assert.Zero(t, tl.Answered, "an agent-only VM has no port forward to ask")
	select {
	case e := <-vm.Events():
		t.Fatalf("ServerReady is expected, not an event for the test: %s", e)
	default:
	}
}

// The agent restores the server before it connects: its hello says ready,
// and the ServerReady (with the recovery time) follows.
func TestResetTakesTheServerReadyEventAfterAReadyHello(t *testing.T) {
	cp, vm := provisionedAgentVM(t)
	done := afterReset(ctxT(t, 10*time.Second), vm)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2",
		Server: &pb.ServerStatus{Provisioned: true, Ready: true}})
	select {
	case o := <-done:
		t.Fatalf("the reset ended on the hello, without the boot's ServerReady: %+v", o)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, ag.event(&pb.Event{Kind: &pb.Event_ServerReady{ServerReady: &pb.ServerReady{
		Kind: serverkind.MariaDB, RecoveryNanos: proto.Int64(int64(2 * time.Second))}}}))
	o := <-done
	require.NoError(t, o.err)
	assert.Equal(t, 2*time.Second, o.res.ServerRecovery)
}

func TestResetFailsFastWhenTheServerDoesNotComeBack(t *testing.T) {
	for name, ev := range map[string]*pb.Event{
		"restore failed": {Kind: &pb.Event_RestoreFailed{RestoreFailed: &pb.RestoreFailed{
			Kind: serverkind.MariaDB, Reason: "mount: wrong fs type"}}},
		"server exited": {Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{
			Kind: serverkind.MariaDB, Code: 1, LogTail: []string{"wrong fs type"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			cp, vm := provisionedAgentVM(t)
			done := afterReset(ctxT(t, 30*time.Second), vm)
			ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2",
				Server: &pb.ServerStatus{Provisioned: true}})
			require.NoError(t, ag.event(ev))
			var o resetOutcome
			select {
			case o = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("waiting for the reset did not fail when the agent reported the server down")
			}
			require.Error(t, o.err)
			assert.ErrorIs(t, o.err, ErrServerNotRecovered)
			assert.NotErrorIs(t, o.err, ErrVMNotBack)
			assert.Contains(t, o.err.Error(), "wrong fs type")
			var re *ResetError
			require.True(t, errors.As(o.err, &re))
			assert.Equal(t, "boot-2", re.Result.BootID)
			assert.Positive(t, re.Result.Timeline.AgentBack)
			assert.Zero(t, re.Result.Timeline.ServerReady)
			// The failure is also an event for the test.
			select {
			case e := <-vm.Events():
				assert.Contains(t, e.String(), "wrong fs type")
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
		})
	}
}

// A new boot whose agent has no provisioning (its spec did not survive on
// the root disk) will never bring the server back: the reset fails at the
// hello instead of waiting for its bound.
func TestResetFailsFastWhenTheNewBootIsNotProvisioned(t *testing.T) {
	cp, vm := provisionedAgentVM(t)
	done := afterReset(ctxT(t, 30*time.Second), vm)
	dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-2", Server: &pb.ServerStatus{}})
	var o resetOutcome
	select {
	case o = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiting for the reset did not fail when the new boot's agent had no provisioning")
	}
	assert.ErrorIs(t, o.err, ErrServerNotRecovered)
	assert.ErrorContains(t, o.err, "no provisioning")
}

func TestResetOfAVMThatNeverComesBack(t *testing.T) {
	_, vm := provisionedAgentVM(t)
	done := afterReset(ctxT(t, 30*time.Second), vm)
	vm.Kill()
	var o resetOutcome
	select {
	case o = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end with the VM")
	}
	assert.ErrorIs(t, o.err, ErrVMNotBack)
	assert.NotErrorIs(t, o.err, ErrServerNotRecovered)
	assert.Empty(t, o.res.BootID)

	// Without a kill: the context ends with no new agent.
	_, vm = provisionedAgentVM(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	o = <-afterReset(ctx, vm)
	assert.ErrorIs(t, o.err, ErrVMNotBack)
	assert.ErrorIs(t, o.err, context.DeadlineExceeded)
}

func TestRestoreFailedIsAnEvent(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-7"})
	require.NoError(t, ag.event(&pb.Event{Kind: &pb.Event_RestoreFailed{RestoreFailed: &pb.RestoreFailed{
		Kind: serverkind.Bundled, Reason: "crashrig-sqlserver did not come back: server exited"}}}))
	select {
	case e := <-vm.Events():
		require.NotNil(t, e.RestoreFailed)
		assert.Equal(t, "boot-7", e.BootID)
		assert.Contains(t, e.String(), "could not bring server crashrig-sqlserver back after boot boot-7: crashrig-sqlserver did not come back")
	case <-time.After(5 * time.Second):
		t.Fatal("event not delivered")
	}
}
