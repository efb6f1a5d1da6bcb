package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/serverkind"
)

// gatedServer is the binary started with -start-gate=stdin
// -start-gate-ready-fd=3; startGated returns once it waits at the gate. Its data directory and log file are under a
// directory that stands for the data disk's mount point.
type gatedServer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mount   string
	dataDir string
	logPath string
	stderr  chan string   // the lines of its stderr, closed at EOF
	exited  chan struct{} // closed once the process is reaped
	waitErr error         // its exit, once exited is closed
	addr    string
}

func startGated(t *testing.T) *gatedServer {
	t.Helper()
	mount := t.TempDir()
	g := &gatedServer{mount: mount, dataDir: filepath.Join(mount, "crashrig"), logPath: filepath.Join(mount, "server.log"),
		stderr: make(chan string, 100), exited: make(chan struct{}), addr: freeAddr(t)}
	g.cmd = exec.Command(binary(t), "-start-gate=stdin", "-start-gate-ready-fd=3", "-data-dir", g.dataDir, "-listen", g.addr,
		"-log-file", g.logPath, "-insecure-no-root-password")
	ready, readyW, err := os.Pipe()
	require.NoError(t, err)
	defer ready.Close()
	g.cmd.ExtraFiles = []*os.File{readyW}
	g.stdin, err = g.cmd.StdinPipe()
	require.NoError(t, err)
	errPipe, err := g.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, g.cmd.Start())
	readyW.Close() // the child has its copy
	t.Cleanup(func() {
		_ = g.cmd.Process.Kill()
		<-g.exited
	})
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		defer close(g.stderr)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			select {
			case g.stderr <- sc.Text():
			default: // nobody reads any more
			}
		}
	}()
	go func() {
		<-lines // Wait closes the pipe: read it whole first
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	// Descriptor 3 closes (EOF here) once it waits at its gate. Generous:
	// the package initialisation takes seconds on a busy host.
	atGate := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, ready)
		atGate <- err
	}()
	select {
	case err := <-atGate:
		require.NoError(t, err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the server did not reach its start gate")
	}
	select {
	case <-g.exited:
		t.Fatalf("the server exited before its start gate: %v", g.waitErr)
	case <-time.After(100 * time.Millisecond):
	}
	return g
}

// assertUntouched checks that nothing was created on the "data disk".
func (g *gatedServer) assertUntouched(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(g.mount)
	require.NoError(t, err)
	assert.Empty(t, entries, "a server waiting at its start gate created files on the data disk's mount point")
}

// A gated server creates neither its log nor its data directory before the
// release line; after it, it runs as a normal start does.
func TestStartGateTouchesNothingBeforeTheRelease(t *testing.T) {
	g := startGated(t)
	// It is at the gate (and had 100 ms more to do anything it wrongly
	// might).
	g.assertUntouched(t)
	select {
	case <-g.exited:
		t.Fatalf("the gated server exited before its release: %v", g.waitErr)
	default:
	}

	_, err := io.WriteString(g.stdin, "\n")
	require.NoError(t, err)
	require.NoError(t, g.stdin.Close(), "stdin closing after the release does not matter")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(g.logPath)
		return strings.Contains(string(b), serverkind.ReadyForConnections)
	}, 2*time.Minute, 20*time.Millisecond, "the released server did not come up")
	assert.DirExists(t, g.dataDir)
	db := (&proc{addr: g.addr}).db(t)
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
	assert.Equal(t, 1, one)
}

// Stdin closing without the release line (the agent died) ends the server
// with an error, and it still touched nothing.
func TestStartGateStdinClosedIsAnError(t *testing.T) {
	g := startGated(t)
	require.NoError(t, g.stdin.Close())
	select {
	case <-g.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("the gated server did not exit when its stdin closed")
	}
	var exit *exec.ExitError
	require.True(t, errors.As(g.waitErr, &exit), "want a non-zero exit, got %v", g.waitErr)
	assert.Equal(t, 1, exit.ExitCode())
	var said []string
	for l := range g.stderr {
		said = append(said, l)
	}
	assert.Contains(t, strings.Join(said, "\n"), "stdin closed before the release line")
	g.assertUntouched(t)
}

func TestStartGateUnknownValue(t *testing.T) {
	dir := t.TempDir()
	code := run([]string{"-start-gate=signal", "-data-dir", filepath.Join(dir, "d"), "-log-file", filepath.Join(dir, "l")}, strings.NewReader("\n"))
	assert.Equal(t, 2, code)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestStartGateReadyFDNeedsTheGate(t *testing.T) {
	dir := t.TempDir()
	assert.Equal(t, 2, run([]string{"-start-gate-ready-fd=3", "-data-dir", filepath.Join(dir, "d")}, strings.NewReader("\n")))
	assert.Equal(t, 2, run([]string{"-start-gate=stdin", "-start-gate-ready-fd=1", "-data-dir", filepath.Join(dir, "d")}, strings.NewReader("\n")))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
