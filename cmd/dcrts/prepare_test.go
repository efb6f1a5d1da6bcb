package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// gatedSpec is a provisioning whose "server" is a script: with --gate it
// closes descriptor 3 and waits for a line on stdin (exit 1 at EOF) before
// it writes anything into the data directory, like crashrig-sqlserver
// -start-gate=stdin -start-gate-ready-fd=3.
func gatedSpec(t *testing.T) *pb.ProvisionServer {
	t.Helper()
	script := filepath.Join(t.TempDir(), "server.sh")
	require.NoError(t, os.WriteFile(script, []byte(`#!/bin/sh
if [ "$1" = --gate ]; then
	exec 3>&-
	read line || { echo "stdin closed before the release line" >&2; exit 1; }
	shift
fi
echo "started $*" >> "$1/server.log"
exec sleep 60
`), 0o755))
	return &pb.ProvisionServer{Kind: "gated", Server: &pb.ServerDefinition{Name: "gated",
		Start: &pb.Argv{Args: []string{script, "{data_dir}"}}, LogFile: "{data_dir}/server.log",
		StartGate: &pb.StartGate{Args: []string{"--gate"}, Release: pb.GateRelease_GATE_RELEASE_STDIN_LINE}}}
}

// The prepared process waits without touching the data directory; the
// release (after the mount) makes it the VM's server, and its log is
// watched from then on.
func TestPrepareThenRelease(t *testing.T) {
	m, events := testManager(t)
	require.NoError(t, os.MkdirAll(m.paths.Data, 0o755))
	spec := gatedSpec(t)
	r, err := m.Prepare(t.Context(), proto.CloneOf(spec))
	require.NoError(t, err)
	assert.NotZero(t, r.GetPid())
	m.mu.Lock()
	p := m.prepared.proc
	m.mu.Unlock()
	t.Cleanup(func() { m.kill(p) })
	time.Sleep(200 * time.Millisecond)
	entries, err := os.ReadDir(m.paths.Data)
	require.NoError(t, err)
	assert.Empty(t, entries, "the gated server wrote to the data disk before its release")
	assert.NoFileExists(t, filepath.Join(m.paths.Run, serverkind.PIDFileName), "no pid file before the release")
	assert.False(t, m.provisioned(), "a prepared server is not a provisioned one")

	attach := proto.CloneOf(spec)
	require.NoError(t, completeSpec(attach))
	got := m.releasePrepared(attach)
	require.Same(t, p, got, "the attach releases the prepared process")
	assert.True(t, got.gated)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(m.paths.Data, "server.log"))
		return string(b) == "started "+m.paths.Data+"\n"
	}, 10*time.Second, 5*time.Millisecond, "released, it runs as a start does, without the gate's arguments")
	m.mu.Lock()
	assert.Same(t, p, m.proc)
	assert.Nil(t, m.prepared)
	m.mu.Unlock()
	assert.FileExists(t, filepath.Join(m.paths.Run, serverkind.PIDFileName))
	assert.Equal(t, "started "+m.paths.Data+"\n", p.startLog(), "this start's log is read from the release on")
	select {
	case e := <-events:
		t.Fatalf("unexpected event: %v", e)
	default:
	}
}

// A prepared process of another provisioning is dropped (no event), and
// the attach starts a server as after a boot.
func TestReleaseOfAnotherSpecDropsThePreparedServer(t *testing.T) {
	m, events, spec, p := prepareGated(t)
	other := proto.CloneOf(spec)
	other.RootPassword = "another"
	require.NoError(t, completeSpec(other))
	assert.Nil(t, m.releasePrepared(other))
	<-p.done
	assert.Nil(t, m.releasePrepared(other), "nothing is prepared any more")
	select {
	case e := <-events:
		t.Fatalf("a dropped prepared server is no event: %v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

// A prepared process that dies is reported, forgotten, and not released.
func TestPreparedServerThatExitsIsReported(t *testing.T) {
	m, events, spec, p := prepareGated(t)
	// The agent's end of its stdin goes, as when the agent dies.
	require.NoError(t, p.gate.Close())
	select {
	case e := <-events:
		require.NotNil(t, e.GetServerExited(), "got %v", e)
		assert.Equal(t, int32(1), e.GetServerExited().GetCode())
		assert.Contains(t, e.GetServerExited().GetLogTail(), "stdin closed before the release line")
	case <-time.After(10 * time.Second):
		t.Fatal("no ServerExited for the prepared server")
	}
	<-p.done
	m.mu.Lock()
	assert.Nil(t, m.prepared)
	m.mu.Unlock()
	attach := proto.CloneOf(spec)
	require.NoError(t, completeSpec(attach))
	assert.Nil(t, m.releasePrepared(attach))
}

func TestPrepareRefusals(t *testing.T) {
	m, _ := testManager(t)
	_, err := m.Prepare(t.Context(), nil)
	assert.ErrorContains(t, err, "no provisioning spec")
	_, err = m.Prepare(t.Context(), &pb.ProvisionServer{Kind: serverkind.Bundled})
	assert.ErrorContains(t, err, "version", "an uploaded server needs its installed build")
	_, err = m.Prepare(t.Context(), &pb.ProvisionServer{Kind: serverkind.Bundled, Version: "v1"})
	assert.ErrorContains(t, err, "build", "not installed")

	m.mu.Lock()
	m.spec = gatedSpec(t)
	m.mu.Unlock()
	_, err = m.Prepare(t.Context(), gatedSpec(t))
	assert.ErrorContains(t, err, "already provisioned")
}

// PrepareServer answers only once the server waits at its gate; one that
// exits first is an error.
func TestPrepareWaitsForTheGate(t *testing.T) {
	m, _ := testManager(t)
	spec := gatedSpec(t)
	script := spec.GetServer().GetStart().GetArgs()[0]
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nsleep 0.5\nexec 3>&-\nread line\nexec sleep 60\n"), 0o755))
	start := time.Now()
	_, err := m.Prepare(t.Context(), proto.CloneOf(spec))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "answered before the server reached its gate")
	m.dropPrepared("test over")

	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho no gate here >&2\nexit 4\n"), 0o755))
	_, err = m.Prepare(t.Context(), proto.CloneOf(spec))
	if err == nil {
		// EOF came before the reaper: the exit is reported instead.
		m.mu.Lock()
		pr := m.prepared
		m.mu.Unlock()
		if pr != nil {
			pr.proc.wg.Wait() // the reaper, which forgets it
		}
	} else {
		assert.ErrorContains(t, err, "exited before its start gate")
	}
	m.mu.Lock()
	assert.Nil(t, m.prepared, "an exited server is not prepared")
	m.mu.Unlock()
}

// prepareGated prepares a gated server on a test manager and returns the
// manager, its events, the spec and the prepared process.
func prepareGated(t *testing.T) (*serverManager, chan *pb.Event, *pb.ProvisionServer, *serverProc) {
	t.Helper()
	m, events := testManager(t)
	spec := gatedSpec(t)
	_, err := m.Prepare(t.Context(), proto.CloneOf(spec))
	require.NoError(t, err)
	m.mu.Lock()
	p := m.prepared.proc
	m.mu.Unlock()
	return m, events, spec, p
}
