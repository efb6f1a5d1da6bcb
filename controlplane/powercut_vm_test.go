package controlplane_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/crashstate"
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
