package controlplane_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/crashstate"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// TestPowerCutKeepsFlushedAndLosesUnflushedWrites writes one block with a
// cache flush and one without straight to the data disk, cuts the power
// with every unflushed write dropped, and reads both back in the new boot:
// the flushed one survives, the unflushed one is gone, which a reset
// (QEMU keeps running) would have kept.
func TestPowerCutKeepsFlushedAndLosesUnflushedWrites(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	cp := cptest.New(t)
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, LogDataDisk: true, DataDiskSize: "256M"})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	run := func(script string) string {
		t.Helper()
		code, out, err := vm.Exec(ctx, "sh", "-c", script)
		require.NoError(t, err)
		require.Zero(t, code, "%s: %s", script, out)
		return out
	}
	// O_DIRECT: the write reaches the virtual disk when dd returns;
	// conv=fsync adds the cache flush that makes it durable.
	run("printf durable | dd of=/dev/vdb bs=512 seek=8 count=1 conv=sync,fsync oflag=direct 2>&1")
	acked, err := vm.WriteLogPosition()
	require.NoError(t, err)
	assert.Equal(t, 0, acked.Gen)
	require.Positive(t, acked.Entries, "the flush is counted in the log's super block")
	run("printf volatile | dd of=/dev/vdb bs=512 seek=2048 count=1 conv=sync oflag=direct 2>&1")

	oldBoot := vm.BootID()
	atEnd := func(ix *crashstate.Index, _ int64) uint64 { return ix.Len() }
	res, err := vm.PowerCut(ctx, 1, controlplane.WithCut(atEnd),
		controlplane.WithChooseOptions(crashstate.WithDropProbability(1), crashstate.WithTearProbability(0)))
	require.NoError(t, err)
	t.Logf("power cut: %s; state built in %v; choices %+v", &res.Timeline, res.Built, res.Choices)
	assert.NotEqual(t, oldBoot, res.BootID, "a new boot")
	assert.Equal(t, 0, res.Gen)
	assert.GreaterOrEqual(t, res.Choices.Cut, acked.Entries, "the cut is at the end of the log")
	assert.Positive(t, res.Choices.VolatileLen, "the unflushed write was volatile")
	assert.Equal(t, res.Choices.VolatileLen, res.Build.Dropped)
	assert.FileExists(t, res.Log)
	assert.FileExists(t, res.Base)

	read := func(sector int) string {
		out := run("dd if=/dev/vdb bs=512 skip=" + strconv.Itoa(sector) + " count=1 2>/dev/null | tr -d '\\000'")
		return strings.TrimSpace(out)
	}
	assert.Equal(t, "durable", read(8), "a flushed write survives a power cut")
	assert.Empty(t, read(2048), "an unflushed write the cut dropped is gone")

	pos, err := vm.WriteLogPosition()
	require.NoError(t, err)
	assert.Equal(t, 1, pos.Gen, "the new QEMU logs a new generation")

	// A second cut on the new generation keeps what the first built, and
	// its extra states (each booted and thrown away) do too.
	run("printf second | dd of=/dev/vdb bs=512 seek=16 count=1 conv=sync,fsync oflag=direct 2>&1")
	var samples []controlplane.Sample
	res, err = vm.PowerCut(ctx, 2, controlplane.WithCut(atEnd), controlplane.WithSamples(2, func(ctx context.Context, s controlplane.Sample) error {
		samples = append(samples, s)
		assert.Equal(t, "durable", read(8), "sample at %d", s.Choices.Cut)
		run("printf scribble | dd of=/dev/vdb bs=512 seek=8 count=1 conv=sync,fsync oflag=direct 2>&1")
		return nil
	}))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Gen)
	require.NotEmpty(t, samples, "the log has flushes to sample")
	for _, s := range samples {
		assert.Equal(t, 1, s.Gen)
		assert.LessOrEqual(t, s.Choices.Cut, res.Choices.LogEntries)
	}
	assert.Equal(t, "durable", read(8), "what a sample wrote was thrown away")
	assert.Equal(t, "second", read(16))
}

// TestPowerCutSamplesOnTheSamplingMachine checks sampled crash states on
// the VM's sampling machine (VMSpec.Sampler): MariaDB (no start gate)
// recovers each state on one machine restored from the VM's standby
// template (no boot per state), which detaches each state and is kept
// across power cuts; a committed row is in every state, what a state's
// visit wrote is thrown away, and the VM comes back on the state it
// continues on. (The bundled server, started ahead, gets a fresh machine
// per state: TestBundledServerPowerCutsOntoStandbys.)
func TestPowerCutSamplesOnTheSamplingMachine(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	cp := cptest.New(t)
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, LogDataDisk: true, Sampler: true})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	dsn, err := vm.Provision(ctx, controlplane.ServerSpec{Kind: serverkind.MariaDB, ErrorLogPatterns: errorPatterns})
	require.NoError(t, err)
	db := openDB(t, dsn)
	for _, q := range []string{"CREATE DATABASE s", "CREATE TABLE s.t (k INT PRIMARY KEY)", "INSERT INTO s.t VALUES (1)"} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	acked, err := vm.WriteLogPosition()
	require.NoError(t, err)
	count := func(db *sql.DB, k int) int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM s.t WHERE k = ?", k).Scan(&n))
		return n
	}
	var samples []controlplane.Sample
	atEnd := func(ix *crashstate.Index, _ int64) uint64 { return ix.Len() }
	res, err := vm.PowerCut(ctx, 3, controlplane.WithCut(atEnd), controlplane.WithSamples(3, func(ctx context.Context, s controlplane.Sample) error {
		samples = append(samples, s)
		sdb := openDB(t, s.DSN)
		if s.Choices.Cut >= acked.Entries { // a state cut before the commit's flush may lack it
			assert.Equal(t, 1, count(sdb, 1), "the committed row in the state at %d", s.Choices.Cut)
		}
		// A state cut before the table's creation has no s.t: write
		// something every state can take.
		_, err := sdb.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS scribble")
		assert.NoError(t, err, "the state's server takes writes")
		t.Logf("sample at %d of %d: server answered %v after the hot-plug", s.Choices.Cut, s.Choices.LogEntries, s.Recovery.Timeline.Answered)
		return sdb.Close()
	}))
	require.NoError(t, err)
	t.Logf("power cut: %s", &res.Timeline)
	require.NotEmpty(t, samples, "the log has flushes to sample")
	for _, s := range samples {
		assert.True(t, s.Recovery.Restored, "a sampling machine restored from the template")
		assert.Equal(t, samples[0].Recovery.BootID, s.Recovery.BootID, "every state on the one sampling machine")
		assert.NotEqual(t, res.BootID, s.Recovery.BootID)
	}
	db = openDB(t, vm.DSN())
	assert.Equal(t, 1, count(db, 1), "the committed row after the power cut")
	var scribble int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'scribble'").Scan(&scribble))
	assert.Zero(t, scribble, "what the samples wrote was thrown away")

	// A second power cut samples on the same machine again.
	before := samples[0].Recovery.BootID
	samples = nil
	_, err = vm.PowerCut(ctx, 4, controlplane.WithSamples(1, func(ctx context.Context, s controlplane.Sample) error {
		samples = append(samples, s)
		return nil
	}))
	require.NoError(t, err)
	for _, s := range samples {
		assert.Equal(t, before, s.Recovery.BootID, "the sampling machine is kept across power cuts")
	}
	assert.LessOrEqual(t, len(vm.StandbyQEMUPids()), 2, "the sampling machine and one ready behind it")
}

// TestBundledServerPowerCutsOntoStandbys cuts the power of a VM with
// standbys and sampling machines (all restored from the VM's standby
// template): the state the VM continues on is hot-plugged, with its write
// log, into a standby that takes over with the server started ahead; each
// sampled state is recovered on a fresh sampling machine, by the server
// it started ahead. Every committed row is
// in every state cut after its flush, the DSN stays the same, and the new
// generation's log records the new machine's writes.
func TestBundledServerPowerCutsOntoStandbys(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	bin := vmtest.BuildStatic(t, "./cmd/crashrig-sqlserver")
	cp := cptest.New(t)
	vm := cptest.StartVM(t, cp, controlplane.VMSpec{Image: im, LogDataDisk: true, Sampler: true, Standby: true})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	dsn := provisionBundled(ctx, t, vm, bin)
	db := openDB(t, dsn)
	_, err := db.ExecContext(ctx, "CREATE TABLE t (k INT PRIMARY KEY)")
	require.NoError(t, err)
	count := func(db *sql.DB) int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
		return n
	}
	rows := 0
	sampleBoots := map[string]bool{}
	for round := 1; round <= 2; round++ {
		for range 3 {
			rows++
			_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?)", rows)
			require.NoError(t, err)
		}
		acked, err := vm.WriteLogPosition()
		require.NoError(t, err)
		require.NoError(t, vm.WaitStandby(ctx))
		var samples []controlplane.Sample
		res, err := vm.PowerCut(ctx, int64(round), controlplane.WithSamples(2, func(ctx context.Context, s controlplane.Sample) error {
			samples = append(samples, s)
			sdb := openDB(t, s.DSN)
			defer sdb.Close()
			if s.Gen == acked.Gen && s.Choices.Cut >= acked.Entries {
				assert.Equal(t, rows, count(sdb), "every committed row in the state at %d", s.Choices.Cut)
			}
			t.Logf("round %d: sample at %d of %d: answered %v after the hot-plug", round, s.Choices.Cut, s.Choices.LogEntries, s.Recovery.Timeline.Answered)
			assert.True(t, s.Recovery.Restored)
			assert.False(t, sampleBoots[s.Recovery.BootID], "a fresh sampling machine for every state")
			sampleBoots[s.Recovery.BootID] = true
			return nil
		}))
		require.NoError(t, err)
		t.Logf("round %d: power cut at %d of %d: %s", round, res.Choices.Cut, res.Choices.LogEntries, &res.Timeline)
		assert.True(t, res.Restored, "the state came up on a standby restored from the template")
		assert.True(t, res.Prestarted, "its server was started ahead")
		require.NotEmpty(t, samples)
		assert.Equal(t, dsn, vm.DSN())
		db = openDB(t, dsn)
		if res.Choices.Cut >= acked.Entries {
			assert.Equal(t, rows, count(db), "the committed rows after the power cut")
		}
		rows = count(db) // what the state the VM continues on kept
		pos, err := vm.WriteLogPosition()
		require.NoError(t, err)
		assert.Equal(t, round, pos.Gen, "the standby logs the new generation")
		_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?)", 1000+round)
		require.NoError(t, err)
		rows++
		after, err := vm.WriteLogPosition()
		require.NoError(t, err)
		assert.Greater(t, after.Entries, pos.Entries, "the new machine's writes are logged")
	}
	cptest.NoEvents(t, vm)
}
