package controlplane

import (
	"google.golang.org/protobuf/encoding/protojson"

	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	crproto "github.com/crashrig/crashrig/proto"
	"github.com/crashrig/crashrig/qemu"

	"github.com/digitalocean/go-qemu/qmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// fakeQMP answers query-block and query-status like QEMU 7.2.
type fakeQMP struct{ status string }

func (f fakeQMP) Run(cmd []byte) ([]byte, error) {
	switch {
	case strings.Contains(string(cmd), "query-block"):
		return []byte(`{"return":[{"device":"disk0","inserted":{"file":"/vm/root.qcow2","node-name":"#block1"}},` +
			`{"device":"disk1","inserted":{"file":"/small/data-vm1.qcow2","node-name":"#block3"}}]}`), nil
	case strings.Contains(string(cmd), "query-status"):
		return []byte(`{"return":{"status":"` + f.status + `","running":false}}`), nil
	}
	return nil, errors.New("unexpected command")
}

func TestBlockIOErrorNoSpaceFailsTheVM(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	ag := dialAgent(t, cp, &pb.Hello{VmId: "a1", Token: vm.Token(), BootId: "boot-1"})
	ag.serve(func(*pb.Command) []*pb.Result { return nil }) // a paused guest answers nothing
	ctx := ctxT(t, 10*time.Second)
	_, err = vm.WaitAgent(ctx)
	require.NoError(t, err)

	execErr := make(chan error, 1)
	go func() {
		_, _, err := vm.Exec(ctx, "dd", "if=/dev/zero", "of=/dev/vdb")
		execErr <- err
	}()
	events := make(chan qmp.Event)
	w := vm.followQMP(events, fakeQMP{status: "io-error"}, nil)
	events <- qmp.Event{Event: "RESUME"}
	events <- qmp.Event{Event: "BLOCK_IO_ERROR", Data: map[string]any{
		"device": "disk1", "node-name": "#block3", "operation": "write", "action": "stop", "nospace": true,
		"reason": "No space left on device"}}
	events <- qmp.Event{Event: "STOP"}
	close(events)
	w.wait()

	err = <-execErr
	require.ErrorIs(t, err, ErrHostDiskFull, "the command in flight fails with the disk error")
	for _, want := range []string{"host disk full", `drive "disk1"`, "/small/data-vm1.qcow2", "No space left on device"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = vm.WaitAgent(ctx)
	assert.ErrorIs(t, err, ErrHostDiskFull, "later waits fail at once too")
	_, err = vm.comeBack(ctx, "boot-1", ResetResult{})
	assert.ErrorIs(t, err, ErrHostDiskFull, "a reset's wait fails at once")
	_, err = vm.Provision(ctx, ServerSpec{Kind: "mariadb"})
	assert.ErrorIs(t, err, ErrHostDiskFull)
	select {
	case e := <-vm.Events():
		require.ErrorIs(t, e.VMFailed, ErrHostDiskFull)
		assert.Contains(t, e.String(), "/small/data-vm1.qcow2")
	default:
		t.Fatal("the failure is not delivered as an event")
	}
	select {
	case e := <-vm.Events():
		t.Fatalf("one failure, one event; got also %s", e)
	default:
	}
}

func TestPausedOnIOErrorFailsTheVM(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	events := make(chan qmp.Event)
	w := vm.followQMP(events, fakeQMP{status: "io-error"}, nil)
	events <- qmp.Event{Event: "STOP"}
	close(events)
	w.wait()
	_, err = vm.WaitAgent(ctxT(t, 5*time.Second))
	require.ErrorIs(t, err, ErrHostIO)
	assert.Contains(t, err.Error(), "io-error")
}

func TestPlainStopIsNoFailure(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	events := make(chan qmp.Event)
	w := vm.followQMP(events, fakeQMP{status: "paused"}, nil)
	events <- qmp.Event{Event: "STOP"}
	events <- qmp.Event{Event: "RESET"}
	close(events)
	w.wait()
	vm.mu.Lock()
	defer vm.mu.Unlock()
	assert.NoError(t, vm.failed)
}

func TestAgentConfigFile(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("a1")
	require.NoError(t, err)
	dir := t.TempDir()
	path, err := writeAgentConfig(dir, &pb.AgentConfig{ControlPlane: "10.0.2.2:1234", VmId: vm.ID, Token: vm.token})
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "it holds the token")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), vm.Token())
	assert.Len(t, b, agentConfigSize, "padded: a restored machine reads its config with the template's size")
	resumed, err := writeAgentConfig(t.TempDir(), &pb.AgentConfig{ControlPlane: "10.0.2.2:1234", VmId: vm.ID + "~standby7", Token: vm.token,
		ResumeId: "0123456789abcdef", Entropy: make([]byte, 64)})
	require.NoError(t, err)
	rb, err := os.ReadFile(resumed)
	require.NoError(t, err)
	assert.Len(t, rb, agentConfigSize, "a restored machine's config has the template's size")
	var back pb.AgentConfig
	require.NoError(t, protojson.Unmarshal(rb, &back), "the padding is JSON whitespace")
	assert.Equal(t, "0123456789abcdef", back.GetResumeId())
	m := qemu.Machine{Kernel: "k", Initrd: "i", FwCfg: []qemu.FwCfg{{Name: crproto.AgentConfigName, File: path}}}
	qargs, err := m.Args()
	require.NoError(t, err)
	args := strings.Join(qargs, " ")
	assert.NotContains(t, args, vm.Token(), "QEMU's arguments name the file, not the token")
	assert.Contains(t, args, "-fw_cfg name=opt/crashrig/agent,file="+path)

	// A file left in a reused directory is replaced with the right mode.
	require.NoError(t, os.Chmod(path, 0o644))
	path, err = writeAgentConfig(dir, &pb.AgentConfig{ControlPlane: "10.0.2.2:1234", VmId: vm.ID, Token: vm.token})
	require.NoError(t, err)
	fi, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestHelloTimeout(t *testing.T) {
	cp, _ := newTestCP(t, WithHelloTimeout(200*time.Millisecond))
	conn := dialRaw(t, cp)
	stream, err := pb.NewControlPlaneClient(conn).Connect(t.Context())
	require.NoError(t, err)
	_, err = stream.Recv() // never says hello
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
}

func TestExecTimeoutFromDeadline(t *testing.T) {
	assert.Equal(t, int32(0), execTimeout(context.Background()), "no deadline: the agent's default")
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	assert.Equal(t, int32(3), execTimeout(ctx), "rounded up")
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	assert.Equal(t, int32(1), execTimeout(ctx), "at least a second")
}
