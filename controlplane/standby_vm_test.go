package controlplane_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// waitStandby waits until the VM has a standby QEMU and returns the pids
// of its standbys.
func waitStandby(t testing.TB, vm *controlplane.VM) []int {
	t.Helper()
	var pids []int
	require.Eventually(t, func() bool { pids = vm.StandbyQEMUPids(); return len(pids) > 0 }, 5*time.Minute, 50*time.Millisecond)
	return pids
}

// TestBundledServerSurvivesStandbyResets provisions the bundled server on
// a VM with a standby, commits rows, and crashes it twice onto standbys:
// each time the VM's DSN keeps working, the boot id is new, every committed
// row is there, and the crashed machine's QEMU is gone. Kill leaves no
// QEMU behind, the standby booted ahead included.
func TestBundledServerSurvivesStandbyResets(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	bin := vmtest.BuildStatic(t, "./cmd/crashrig-sqlserver")
	var pids []int
	t.Run("vm", func(t *testing.T) {
		cp := cptest.New(t)
		vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, Standby: true})
		pids = append(pids, vm.QEMUPid())
		ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
		defer cancel()
		dsn := provisionBundled(ctx, t, vm, bin)
		db := openDB(t, dsn)
		_, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
		require.NoError(t, err)
		rows := 0
		for round := 1; round <= 2; round++ {
			for range 5 {
				rows++
				_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", rows, fmt.Sprint("v", rows))
				require.NoError(t, err)
			}
			crashed, old := vm.QEMUPid(), vm.BootID()
			pids = append(pids, waitStandby(t, vm)...)
			res, err := vm.StandbyReset(ctx)
			require.NoError(t, err)
			assert.NotEqual(t, old, res.BootID)
			assert.Equal(t, res.BootID, vm.BootID())
			assert.True(t, res.RecoveryReported, "the bundled server logs its recovery time")
			assert.True(t, res.Prestarted, "the standby started the bundled server ahead and released it at the attach")
			assert.True(t, res.Restored, "the standby was restored from the VM's standby template")
			assert.Equal(t, dsn, vm.DSN(), "the DSN stays the same across standby resets")
			assert.NotEqual(t, crashed, vm.QEMUPid(), "the standby runs the VM now")
			assertGone(t, crashed)
			t.Logf("standby reset %d: %s; the server's own recovery %s; started ahead: %v", round, &res.Timeline, res.ServerRecovery, res.Prestarted)
			assertResumedMachine(ctx, t, vm)
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
			assert.Equal(t, rows, n, "committed rows survived the crash")
		}
		cptest.NoEvents(t, vm)
		// A plain reboot still works on a machine that took over: the
		// agent restores the server from the spec it saved at attach.
		res, err := vm.HardReset(ctx)
		require.NoError(t, err)
		t.Logf("reboot after standby resets: %s", &res.Timeline)
		db = openDB(t, dsn) // the reboot broke the pool's connections
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		assert.Equal(t, rows, n)
		pids = append(pids, waitStandby(t, vm)...)
		vm.Kill()
		for _, p := range pids {
			assertGone(t, p)
		}
	})
	for _, p := range pids {
		assertGone(t, p)
	}
}

// provisionBundled installs the bundled server build bin on vm and
// provisions it with database "crash"; it returns the DSN.
func provisionBundled(ctx context.Context, t *testing.T, vm *controlplane.VM, bin string) string {
	t.Helper()
	require.NoError(t, vm.Install(ctx, serverkind.Bundled, "test", bin))
	dsn, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.Bundled, Version: "test",
		Database: "crash", ErrorLogPatterns: []string{`(?i)panic`}})
	require.NoError(t, err)
	return dsn
}

// assertResumedMachine checks that the VM's machine, a standby restored
// from its template, is a boot of its own: its agent reseeded the
// kernel's random state (once, in this machine) and set the clock, which
// in the snapshot stood where the template was saved.
func assertResumedMachine(ctx context.Context, t *testing.T, vm *controlplane.VM) {
	t.Helper()
	code, out, err := vm.Exec(ctx, "sh", "-c", "grep -c 'resumed from a standby template' "+serverkind.GuestAgentLog+
		"; grep -c 'clock set from the control plane' "+serverkind.GuestAgentLog+"; date +%s.%N")
	require.NoError(t, err)
	require.Equal(t, 0, code, out)
	var resumed, clockSet int
	var guestNow float64
	_, err = fmt.Sscan(out, &resumed, &clockSet, &guestNow)
	require.NoError(t, err, out)
	assert.Equal(t, 1, resumed, "the agent resumed (and reseeded) once in this machine")
	assert.Equal(t, 1, clockSet, "the resumed agent set the clock from the Welcome")
	hostNow := float64(time.Now().UnixNano()) / 1e9
	assert.InDelta(t, hostNow, guestNow, 3, "the restored machine's clock is the host's, not the snapshot's")
}

// BenchmarkStandbyReset measures crash to SQL answering with the standby
// restart, and with the reboot (QMP system_reset) in the same VM beside
// it, for MariaDB and the bundled server. Each crash comes when every
// standby is ready (restored, its server prepared), so none is being
// prepared in the background meanwhile; the wait is not counted.
func BenchmarkStandbyReset(b *testing.B) {
	vmtest.SkipIfShort(b)
	im := vmtest.Image(b)
	for _, kind := range []string{serverkind.MariaDB, serverkind.Bundled} {
		b.Run(kind, func(b *testing.B) {
			cp := cptest.New(b)
			vm := cptest.StartVM(b, cp, controlplane.VMSpec{Image: im, Standby: true})
			ctx := b.Context()
			spec := controlplane.ServerSpec{Kind: kind, ErrorLogPatterns: errorPatterns}
			if kind == serverkind.Bundled {
				bin := vmtest.BuildStatic(b, "./cmd/crashrig-sqlserver")
				require.NoError(b, vm.Install(ctx, serverkind.Bundled, "bench", bin))
				spec.Version, spec.ErrorLogPatterns = "bench", []string{`(?i)panic`}
			}
			dsn, err := vm.Provision(ctx, spec)
			require.NoError(b, err)
			db := openDB(b, dsn)
			_, err = db.ExecContext(ctx, "CREATE DATABASE b")
			require.NoError(b, err)
			var standby, reboot []time.Duration
			prestarted, restored := 0, 0 // standby resets whose server was started ahead; whose standby was restored
			// A quiet host at each crash: every standby restored and
			// its server prepared, nothing in the background.
			settle := func() {
				require.Eventually(b, func() bool { return vm.StandbysReady() >= controlplane.DefaultStandbys },
					5*time.Minute, 20*time.Millisecond)
			}
			step := func() {
				settle()
				res, err := vm.StandbyReset(ctx)
				require.NoError(b, err)
				standby = append(standby, res.Timeline.Answered)
				if res.Prestarted {
					prestarted++
				}
				if res.Restored {
					restored++
				}
				if len(reboot) < 5 || len(reboot)*4 < len(standby) {
					settle()
					res, err = vm.HardReset(ctx)
					require.NoError(b, err)
					reboot = append(reboot, res.Timeline.Answered)
				}
			}
			for b.Loop() {
				step()
			}
			for len(standby) < benchCrashes {
				step()
			}
			cptest.NoEvents(b, vm)
			median := func(ts []time.Duration) time.Duration {
				s := append([]time.Duration(nil), ts...)
				sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
				return s[len(s)/2]
			}
			b.ReportMetric(median(standby).Seconds(), "median-s/standby")
			b.ReportMetric(median(reboot).Seconds(), "median-s/reboot")
			b.Logf("standby resets (%d, %d with the server started ahead, %d on a standby restored from the template): %v", len(standby), prestarted, restored, standby)
			b.Logf("reboots (%d): %v", len(reboot), reboot)
		})
	}
}

// benchCrashes is the least number of standby resets per benchmark
// (-benchtime=20x asks for 20).
var benchCrashes = 10
