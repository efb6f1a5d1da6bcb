package controlplane_test

import (
	"archive/tar"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// errorPatterns are MariaDB log lines a healthy crash recovery never logs.
var errorPatterns = []string{`\[ERROR\]`, `(?i)corrupt`}

// TestMariaDBSurvivesHardResets provisions MariaDB in a VM, commits rows,
// hard-resets the VM three times (each time the agent must come back with a
// new boot id and the server must answer with every committed row), then
// kills the server with SIGKILL and expects an unexpected-exit event.
func TestMariaDBSurvivesHardResets(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	var qemuPid int
	t.Run("vm", func(t *testing.T) {
		cp := cptest.New(t)
		vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im})
		qemuPid = vm.QEMUPid()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()

		start := time.Now()
		dsn, err := vm.Provision(ctx, controlplane.ServerSpec{
			Kind: serverkind.MariaDB, Database: "crash", MountOptions: "data=journal",
			TransactionIsolation: "SERIALIZABLE", ErrorLogPatterns: errorPatterns,
		})
		require.NoError(t, err)
		t.Logf("MariaDB provisioned in %s", time.Since(start).Round(time.Millisecond))
		code, out, err := vm.Exec(ctx, "sh", "-c", "grep ' /data ' /proc/mounts")
		require.NoError(t, err)
		require.Zero(t, code)
		assert.Contains(t, out, "data=journal", "mount options applied")
		assert.Contains(t, out, "nodelalloc")

		db := openDB(t, dsn)
		_, err = db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, boot INT) ENGINE=InnoDB")
		require.NoError(t, err)
		var iso string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT @@tx_isolation").Scan(&iso))
		assert.Equal(t, "SERIALIZABLE", iso)

		rows := 0
		insert := func(round int) {
			for range 20 {
				rows++
				_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", rows, round)
				require.NoError(t, err)
			}
		}
		insert(0)
		boots := map[string]bool{vm.BootID(): true}
		for round := 1; round <= 3; round++ {
			res, err := vm.HardReset(ctx)
			require.NoError(t, err, "reset %d", round)
			boot := res.BootID
			assert.Equal(t, vm.BootID(), boot)
			assert.False(t, boots[boot], "reset %d: the agent reports a new boot id", round)
			boots[boot] = true
			tl := res.Timeline
			assert.True(t, 0 < tl.Acked && tl.Acked <= tl.AgentBack && tl.AgentBack <= tl.ServerReady && tl.ServerReady <= tl.Answered,
				"reset %d: timeline in order: %s", round, &tl)
			t.Logf("reset %d: %s; MariaDB's own recovery %s (reported %v)", round, &tl, res.ServerRecovery, res.RecoveryReported)
			db = openDB(t, dsn) // the old pool's connections died with the reset
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
			assert.Equal(t, rows, n, "reset %d: every committed row survived", round)
			insert(round)
		}
		cptest.NoEvents(t, vm)

		// The image's SSH key works too (for debugging and faults).
		client, err := vm.SSH(ctx)
		require.NoError(t, err)
		out, err = vmimage.RunSSH(client, "pgrep -x mariadbd")
		client.Close()
		require.NoError(t, err)
		assert.NotEmpty(t, strings.TrimSpace(out), "mariadbd runs")

		// The agent's gRPC health service (guest loopback) tracks the server.
		code, out, err = vm.Exec(ctx, "/usr/local/bin/dcrts", "health")
		require.NoError(t, err)
		assert.Equal(t, 0, code, out)
		assert.Equal(t, "dcrts: SERVING\ncrashrig.server: SERVING\n", out)

		// A crash of the server alone is reported, with its log tail.
		require.NoError(t, vm.KillServer(ctx))
		e := cptest.WaitEvent(t, vm, time.Minute)
		require.NotNil(t, e.ServerExited, "got %s", e)
		assert.Equal(t, "killed", e.ServerExited.GetSignal())
		assert.Equal(t, serverkind.MariaDB, e.ServerExited.GetKind())
		assert.NotEmpty(t, e.ServerExited.GetLogTail())
		code, out, err = vm.Exec(ctx, "/usr/local/bin/dcrts", "health")
		require.NoError(t, err)
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "crashrig.server: NOT_SERVING")

		// And one more reset brings it back (the spec is durable).
		_, err = vm.HardReset(ctx)
		require.NoError(t, err)
		db = openDB(t, dsn)
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		assert.Equal(t, rows, n)

		// A VM whose QEMU dies during the reset did not come back; the
		// reset says so at once instead of waiting for its context.
		killQEMU := time.AfterFunc(time.Second, func() { syscall.Kill(vm.QEMUPid(), syscall.SIGKILL) })
		defer killQEMU.Stop()
		_, err = vm.HardReset(ctx)
		assert.ErrorIs(t, err, controlplane.ErrVMNotBack)
		assert.NotErrorIs(t, err, controlplane.ErrServerNotRecovered)
		assert.NoError(t, ctx.Err(), "the reset ended before its context")
	})
	assertGone(t, qemuPid)
}

// TestBundledServerSurvivesHardReset builds crashrig-sqlserver, streams it
// to the agent, provisions it, and checks a committed row after a reset.
func TestBundledServerSurvivesHardReset(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	bin := vmtest.BuildStatic(t, "./cmd/crashrig-sqlserver")
	var qemuPid int
	t.Run("vm", func(t *testing.T) {
		cp := cptest.New(t)
		vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im})
		qemuPid = vm.QEMUPid()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		require.NoError(t, vm.Install(ctx, serverkind.Bundled, "test", bin))
		t.Logf("crashrig-sqlserver uploaded in %s", time.Since(start).Round(time.Millisecond))
		dsn, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.Bundled, Version: "test",
			Database: "crash", ErrorLogPatterns: []string{`(?i)panic`}})
		require.NoError(t, err)
		db := openDB(t, dsn)
		_, err = db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
		require.NoError(t, err)
		for i := 1; i <= 10; i++ {
			_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", i, fmt.Sprint("v", i))
			require.NoError(t, err)
		}
		old := vm.BootID()
		res, err := vm.HardReset(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, old, res.BootID)
		assert.True(t, res.RecoveryReported, "the bundled server logs its recovery time")
		t.Logf("reset: %s; the server's own recovery %s", &res.Timeline, res.ServerRecovery)
		db = openDB(t, dsn)
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		assert.Equal(t, 10, n, "committed rows survived the reset")
		cptest.NoEvents(t, vm)

		// Post-mortem files: the data directory, the server log, the agent log.
		require.NoError(t, vm.Sync(ctx))
		var tarball bytes.Buffer
		require.NoError(t, vm.Collect(ctx, nil, &tarball))
		names := tarNames(t, &tarball)
		assert.Contains(t, names, "data/crashrig-sqlserver.log")
		assert.Contains(t, names, "var/log/dcrts.log")
		assert.Contains(t, names, "data/crashrig/")

		// A clean shutdown ends QEMU by itself (guest power-off).
		require.NoError(t, vm.Shutdown(ctx))
	})
	assertGone(t, qemuPid)
}

// BenchmarkHardReset measures the time from QMP system_reset to MariaDB
// answering a query again.
func BenchmarkHardReset(b *testing.B) {
	vmtest.SkipIfShort(b)
	im := vmtest.Image(b)
	cp := cptest.New(b)
	vm := cptest.StartVM(b, cp, controlplane.VMSpec{Image: im})
	ctx := b.Context()
	dsn, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.MariaDB, ErrorLogPatterns: errorPatterns})
	require.NoError(b, err)
	db := openDB(b, dsn)
	_, err = db.ExecContext(ctx, "CREATE DATABASE b")
	require.NoError(b, err)
	var times []time.Duration
	for b.Loop() {
		res, err := vm.HardReset(ctx)
		require.NoError(b, err)
		times = append(times, res.Timeline.Answered)
	}
	for len(times) < 10 { // at least 10 resets for the median
		res, err := vm.HardReset(ctx)
		require.NoError(b, err)
		times = append(times, res.Timeline.Answered)
	}
	cptest.NoEvents(b, vm)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), "median-s/reset")
	b.ReportMetric(times[len(times)-1].Seconds(), "max-s/reset")
	b.Logf("resets (%d): %v", len(times), times)
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func assertGone(t *testing.T, pid int) {
	t.Helper()
	require.NotZero(t, pid)
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	assert.True(t, os.IsNotExist(err), "QEMU (pid %d) must be gone after the test", pid)
}
