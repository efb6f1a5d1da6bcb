package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// recoveringKind is a fake server that logs its recovery time like the
// bundled server does.
type recoveringKind struct{ fakeKind }

var _ serverkind.RecoveryReporter = recoveringKind{}

var recoveredIn = regexp.MustCompile(`recovered in (\S+)`)

func (recoveringKind) RecoveryTime(log string) (time.Duration, bool) {
	ms := recoveredIn.FindAllStringSubmatch(log, -1)
	if len(ms) == 0 {
		return 0, false
	}
	d, err := time.ParseDuration(ms[len(ms)-1][1])
	return d, err == nil
}

// ServerReady carries the recovery time the kind reads from this start's
// log, including a line written just before readiness (the tailer's poll
// has not seen it yet) and not one from an earlier start.
func TestServerReadyCarriesOwnRecoveryTime(t *testing.T) {
	m, events := testManager(t)
	dir := t.TempDir()
	logFile, marker := filepath.Join(dir, "server.log"), filepath.Join(dir, "ready")
	require.NoError(t, os.WriteFile(logFile, []byte("recovered in 99ms\n"), 0o644))
	k := recoveringKind{fakeKind{logFile: logFile, script: `echo "starting"
echo "recovered in 5ms" >> ` + logFile + `
touch ` + marker + `
exec sleep 60`}}
	spec := &pb.ProvisionServer{Kind: "fake"}
	p, err := m.start(k, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	t.Cleanup(func() { m.kill(p) })
	require.Eventually(t, func() bool { _, err := os.Stat(marker); return err == nil }, 10*time.Second, time.Millisecond)
	m.setReady(spec, p, "")
	ready := (<-events).GetServerReady()
	require.NotNil(t, ready)
	require.NotNil(t, ready.RecoveryNanos, "recovery time reported")
	assert.Equal(t, 5*time.Millisecond, time.Duration(ready.GetRecoveryNanos()))
}

// A server without a log file of its own (a spec with no log_file) has
// its recovery time read from its output.
func TestServerReadyRecoveryTimeFromOutput(t *testing.T) {
	m, events := testManager(t)
	marker := filepath.Join(t.TempDir(), "ready")
	k := recoveringKind{fakeKind{script: `echo "recovered in 7ms"
touch ` + marker + `
exec sleep 60`}}
	spec := &pb.ProvisionServer{Kind: "fake"}
	p, err := m.start(k, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	t.Cleanup(func() { m.kill(p) })
	require.Eventually(t, func() bool {
		_, err := os.Stat(marker)
		return err == nil && len(p.watcher.tail()) > 0
	}, 10*time.Second, time.Millisecond)
	m.setReady(spec, p, "")
	ready := (<-events).GetServerReady()
	require.NotNil(t, ready)
	require.NotNil(t, ready.RecoveryNanos, "recovery time reported")
	assert.Equal(t, 7*time.Millisecond, time.Duration(ready.GetRecoveryNanos()))
}

func TestServerReadyWithoutRecoveryTime(t *testing.T) {
	m, events := testManager(t)
	spec := &pb.ProvisionServer{Kind: "fake"}
	// fakeKind does not read recovery times; a reporter that finds none
	// reports none either.
	for _, k := range []serverkind.Kind{fakeKind{script: "exec sleep 60"},
		recoveringKind{fakeKind{script: "exec sleep 60", logFile: filepath.Join(t.TempDir(), "empty.log")}}} {
		p, err := m.start(k, serverkind.Instance{Spec: spec})
		require.NoError(t, err)
		m.setReady(spec, p, "")
		ready := (<-events).GetServerReady()
		require.NotNil(t, ready)
		assert.Nil(t, ready.RecoveryNanos, "%T", k)
		m.kill(p)
	}
}

// A server that cannot be brought back after a boot is reported as a
// RestoreFailed event, not as a log line.
func TestRestoreFailureIsReported(t *testing.T) {
	m, events := testManager(t)
	m.spec = &pb.ProvisionServer{Kind: "no-such-kind"}
	err := m.Restore(t.Context())
	require.Error(t, err)
	select {
	case e := <-events:
		rf := e.GetRestoreFailed()
		require.NotNil(t, rf, "got %v", e)
		assert.Equal(t, "no-such-kind", rf.GetKind())
		assert.Contains(t, rf.GetReason(), "unknown target")
	default:
		t.Fatal("no RestoreFailed event")
	}
}

// waitReady returns as soon as the server process exits, with its log.
func TestWaitReadyStopsWhenTheServerExits(t *testing.T) {
	m, _ := testManager(t)
	spec := &pb.ProvisionServer{Kind: "fake"}
	p, err := m.start(fakeKind{script: `echo "cannot open datadir"; exit 1`}, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	err = waitReady(t.Context(), serverkind.DSN("root", "", "127.0.0.1:1", ""), p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "server exited")
	assert.Contains(t, err.Error(), "cannot open datadir")
}

func TestWaitDeviceWaitsForTheHotPluggedDisk(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "vdb")
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(dev, nil, 0o600)
	}()
	waited, err := waitDevice(t.Context(), dev)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, waited, 100*time.Millisecond)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = waitDevice(ctx, filepath.Join(t.TempDir(), "never"))
	assert.ErrorContains(t, err, "did not appear")
}

func TestAttachRefusesWhenAServerIsProvisioned(t *testing.T) {
	m := &serverManager{spec: &pb.ProvisionServer{Kind: serverkind.Bundled}}
	_, err := m.Attach(t.Context(), &pb.ProvisionServer{Kind: serverkind.Bundled})
	assert.ErrorContains(t, err, "already provisioned")
	m = &serverManager{}
	_, err = m.Attach(t.Context(), nil)
	assert.ErrorContains(t, err, "no provisioning spec")
}
