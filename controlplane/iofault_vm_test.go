package controlplane_test

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// ioProbe is a guest program (perl is in every Debian image) that prints
// the errno (0: success) of each step, and the seconds the steps took:
//
//	write PATH N: open(O_CREAT|O_APPEND) write(N bytes) fsync fsync elapsed
//	read PATH:    open read elapsed
const ioProbe = `
use strict; use Fcntl; use IO::Handle;
sub now { open(my $u, "<", "/proc/uptime") or die; my $l = <$u>; return (split / /, $l)[0]; }
my ($op, $path, $n) = @ARGV; my $t0 = now(); my @r;
if ($op eq "write") {
  if (sysopen(my $f, $path, O_WRONLY|O_CREAT|O_APPEND)) {
    push @r, 0;
    my $w = syswrite($f, "x" x $n); push @r, (defined($w) && $w == $n) ? 0 : $!+0;
    push @r, $f->sync ? 0 : $!+0;
    push @r, $f->sync ? 0 : $!+0;
  } else { push @r, $!+0, -1, -1, -1; }
} else {
  if (sysopen(my $f, $path, O_RDONLY)) {
    push @r, 0; my $buf; my $got = sysread($f, $buf, 1<<20); push @r, defined($got) ? 0 : $!+0;
  } else { push @r, $!+0, -1; }
}
print join(" ", @r, now() - $t0), "\n";
`

// probe runs ioProbe in the guest and returns the errnos and the seconds.
func probe(ctx context.Context, t *testing.T, vm *controlplane.VM, args ...string) ([]syscall.Errno, float64) {
	t.Helper()
	code, out, err := vm.Exec(ctx, append([]string{"perl", "-e", ioProbe}, args...)...)
	require.NoError(t, err)
	require.Zero(t, code, out)
	f := strings.Fields(out)
	require.NotEmpty(t, f, "probe output %q", out)
	var errnos []syscall.Errno
	for _, s := range f[:len(f)-1] {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "probe output %q", out)
		errnos = append(errnos, syscall.Errno(n))
	}
	secs, err := strconv.ParseFloat(f[len(f)-1], 64)
	require.NoError(t, err, "probe output %q", out)
	return errnos, secs
}

// TestIOFaultsReachGuestPrograms injects every I/O fault kind under a
// provisioned server's data directory and checks the errno a program in
// the guest gets, and that each clear brings back working I/O.
func TestIOFaultsReachGuestPrograms(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	bin := vmtest.BuildStatic(t, "./cmd/crashrig-sqlserver")
	cp := cptest.New(t)
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im})
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	require.NoError(t, vm.Install(ctx, serverkind.Bundled, "test", bin))
	_, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.Bundled, Version: "test",
		Database: "crash", IOFaults: true})
	require.NoError(t, err)
	code, out, err := vm.Exec(ctx, "sh", "-c", "grep ' /data ' /proc/mounts")
	require.NoError(t, err)
	require.Zero(t, code)
	assert.Contains(t, out, "/dev/mapper/crashrig-data", "the data file system sits on the device-mapper device")

	const ok = syscall.Errno(0)
	inject := func(f controlplane.IOFault) *pb.FaultResult {
		t.Helper()
		res, err := vm.InjectFault(ctx, f)
		require.NoError(t, err, "inject %s", f)
		t.Logf("%s: %s", f, res.GetDetail())
		return res
	}
	clear := func() { t.Helper(); require.NoError(t, vm.ClearFault(ctx)) }

	r, _ := probe(ctx, t, vm, "write", "/data/before", "4096")
	require.Equal(t, []syscall.Errno{ok, ok, ok, ok}, r, "no fault: open write fsync fsync")

	t.Run("slow", func(t *testing.T) {
		inject(controlplane.IOFault{Kind: pb.IOFaultKind_SLOW, DelayMillis: 500})
		r, secs := probe(ctx, t, vm, "write", "/data/slow", "4096")
		clear()
		assert.Equal(t, []syscall.Errno{ok, ok, ok, ok}, r, "slow I/O fails nothing")
		assert.GreaterOrEqual(t, secs, 0.5, "write+fsync waited for at least one delayed I/O")
	})
	t.Run("read-only", func(t *testing.T) {
		res := inject(controlplane.IOFault{Kind: pb.IOFaultKind_READ_ONLY})
		r, _ := probe(ctx, t, vm, "write", "/data/ro", "4096")
		clear()
		assert.Equal(t, syscall.EROFS, r[0], "open for writing (%s)", res.GetDetail())
		r, _ = probe(ctx, t, vm, "write", "/data/ro", "4096")
		assert.Equal(t, []syscall.Errno{ok, ok, ok, ok}, r, "after the clear")
	})
	t.Run("disk-full", func(t *testing.T) {
		inject(controlplane.IOFault{Kind: pb.IOFaultKind_DISK_FULL})
		r, _ := probe(ctx, t, vm, "write", "/data/full", "1048576")
		clear()
		assert.Equal(t, syscall.ENOSPC, r[1], "write on a full file system")
		r, _ = probe(ctx, t, vm, "write", "/data/full", "1048576")
		assert.Equal(t, []syscall.Errno{ok, ok, ok, ok}, r, "after the clear")
	})
	t.Run("read-error", func(t *testing.T) {
		r, _ := probe(ctx, t, vm, "write", "/data/victim", "65536")
		require.Equal(t, []syscall.Errno{ok, ok, ok, ok}, r)
		res := inject(controlplane.IOFault{Kind: pb.IOFaultKind_READ_ERROR, Target: "victim"})
		assert.Equal(t, int64(128), res.GetSectors(), "64 KiB of data")
		r, _ = probe(ctx, t, vm, "read", "/data/victim")
		assert.Equal(t, []syscall.Errno{ok, syscall.EIO}, r, "read of the chosen blocks")
		r, _ = probe(ctx, t, vm, "read", "/data/before")
		assert.Equal(t, []syscall.Errno{ok, ok}, r, "other blocks read fine")
		clear()
		r, _ = probe(ctx, t, vm, "read", "/data/victim")
		assert.Equal(t, []syscall.Errno{ok, ok}, r, "after the clear")
	})
	t.Run("write-error-free", func(t *testing.T) {
		// New data fails, the file system's journal does not: the first
		// fsync reports EIO, the retry succeeds although the data never
		// reached the disk (the fsync-retry trap).
		inject(controlplane.IOFault{Kind: pb.IOFaultKind_WRITE_ERROR, Target: "free"})
		r, _ := probe(ctx, t, vm, "write", "/data/lost", "65536")
		clear()
		assert.Equal(t, []syscall.Errno{ok, ok, syscall.EIO, ok}, r, "open write fsync fsync-again")
	})
	t.Run("write-error", func(t *testing.T) {
		inject(controlplane.IOFault{Kind: pb.IOFaultKind_WRITE_ERROR})
		r, _ := probe(ctx, t, vm, "write", "/data/eio", "4096")
		clear()
		assert.Equal(t, syscall.EIO, r[2], "fsync with every write failing")
	})
	// A reset ends every fault and the server comes back on the
	// device-mapper device.
	_, err = vm.HardReset(ctx)
	require.NoError(t, err)
	code, out, err = vm.Exec(ctx, "sh", "-c", "grep ' /data ' /proc/mounts; dmsetup table crashrig-data")
	require.NoError(t, err)
	require.Zero(t, code, out)
	assert.Contains(t, out, "/dev/mapper/crashrig-data")
	assert.Contains(t, out, " linear ", "the table is linear again after the boot")
}
