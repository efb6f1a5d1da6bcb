package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// TestWhatPsShowsOfARealVMCannotTakeOverItsAgent reads a running VM's QEMU
// command line as any local user can, checks that the agent's token is not
// in it, and tries to connect as the agent with what it shows.
func TestWhatPsShowsOfARealVMCannotTakeOverItsAgent(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	cp := cptest.New(t)
	dir := t.TempDir()
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, Dir: dir})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", vm.QEMUPid()))
	require.NoError(t, err)
	cmdline := strings.ReplaceAll(string(raw), "\x00", " ")
	assert.NotContains(t, cmdline, vm.Token(), "the token is readable in QEMU's argument list")
	assert.Contains(t, cmdline, "name=opt/crashrig/agent", "the agent's config goes by fw_cfg")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		assert.NotContains(t, string(b), vm.Token(), "%s keeps the token after QEMU read it", e.Name())
	}

	// What ps shows: the VM id and the control plane's port, no token.
	boot := vm.BootID()
	conn, err := grpc.NewClient(cp.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	for _, hello := range []*pb.Hello{
		{VmId: vm.ID, BootId: boot},
		{VmId: vm.ID, BootId: "00000000-0000-0000-0000-000000000000"},
		{VmId: vm.ID, Token: strings.Repeat("0", 32), BootId: boot},
	} {
		stream, err := pb.NewControlPlaneClient(conn).Connect(ctx)
		require.NoError(t, err)
		require.NoError(t, stream.Send(&pb.AgentMessage{Msg: &pb.AgentMessage_Hello{Hello: hello}}))
		_, err = stream.Recv()
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "hello %v: %v", hello, err)
	}
	code, out, err := vm.Exec(ctx, "echo", "still mine")
	require.NoError(t, err)
	assert.Zero(t, code)
	assert.Equal(t, "still mine\n", out, "the real agent still answers")
	assert.Equal(t, boot, vm.BootID())
	_, out, err = vm.Exec(ctx, "grep", "msg=\"agent config\"", "/var/log/dcrts.log")
	require.NoError(t, err)
	assert.Contains(t, out, "path=/sys/firmware/qemu_fw_cfg/", "the agent read its config from fw_cfg")
	t.Logf("guest: %s", strings.TrimSpace(out))
}

// TestHostDiskFullIsReported puts the VM's data disk on a 64 MiB tmpfs and
// fills it from the guest: QEMU stops the guest on ENOSPC, and the control
// plane must say so at once instead of waiting for a deadline.
func TestHostDiskFullIsReported(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", small).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", small, err, out)
		}
	})
	cp := cptest.New(t)
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, DataDiskDir: small})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	execErr := make(chan error, 1)
	go func() {
		_, _, err := vm.Exec(ctx, "dd", "if=/dev/zero", "of=/dev/vdb", "bs=1M", "count=256", "oflag=direct")
		execErr <- err
	}()
	// The guest stops on the write error, so dd never finishes by itself:
	// the command in flight ends with the VM's failure.
	select {
	case err := <-execErr:
		require.ErrorIs(t, err, controlplane.ErrHostDiskFull, "the command in flight ends with the reason")
	case <-ctx.Done():
		t.Fatal("the full host disk went unnoticed")
	}
	noticed := time.Now()
	select {
	case e := <-vm.Events():
		require.ErrorIs(t, e.VMFailed, controlplane.ErrHostDiskFull, "event: %s", e)
		assert.Contains(t, e.VMFailed.Error(), filepath.Join(small, "data-"+vm.ID+".qcow2"), "names the host file")
		t.Logf("reported: %s", e)
	default:
		t.Fatal("the failure was not delivered as an event")
	}
	_, err := vm.WaitAgent(ctx)
	assert.ErrorIs(t, err, controlplane.ErrHostDiskFull)
	_, err = vm.HardReset(ctx)
	assert.True(t, errors.Is(err, controlplane.ErrHostDiskFull), "a reset of the failed VM says why: %v", err)
	t.Logf("all waiters failed %s after the event", time.Since(noticed).Round(time.Millisecond))
}
