package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/crashrig/crashrig/controlplane"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

func TestParseConfig(t *testing.T) {
	tok := strings.Repeat("ab", 16)
	cfg, err := parseConfig([]byte(`{"controlPlane": "10.0.2.2:4567", "token": "` + tok + `", "vmId": "vm3"}`))
	require.NoError(t, err)
	assert.Equal(t, config{CP: "10.0.2.2:4567", Token: tok, VMID: "vm3"}, cfg)

	for name, js := range map[string]string{
		"not json":      `crashrig.cp=10.0.2.2:1`,
		"missing token": `{"controlPlane": "10.0.2.2:1", "vmId": "x"}`,
		"bad address":   `{"controlPlane": "10.0.2.2", "token": "` + tok + `", "vmId": "x"}`,
		"token not hex": `{"controlPlane": "10.0.2.2:1", "token": "zz` + tok + `", "vmId": "x"}`,
		"short token":   `{"controlPlane": "10.0.2.2:1", "token": "abcd", "vmId": "x"}`,
	} {
		_, err := parseConfig([]byte(js))
		assert.Error(t, err, name)
	}
}

func TestLoadConfigFromEnvFile(t *testing.T) {
	tok := strings.Repeat("cd", 16)
	path := filepath.Join(t.TempDir(), "agent.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"controlPlane": "127.0.0.1:1", "token": "`+tok+`", "vmId": "v"}`), 0o600))
	t.Setenv(configEnv, path)
	cfg, got, err := loadConfig()
	require.NoError(t, err)
	assert.Equal(t, path, got)
	assert.Equal(t, tok, cfg.Token)

	t.Setenv(configEnv, filepath.Join(t.TempDir(), "missing"))
	_, _, err = loadConfig()
	assert.Error(t, err, "a named config that cannot be read is an error, not 'no config'")
}

func TestSpecFileIsDurableAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", specFile)
	got, err := loadSpec(path)
	require.NoError(t, err)
	assert.Nil(t, got, "no spec before provisioning")

	spec := &pb.ProvisionServer{Kind: serverkind.MariaDB, FsType: "ext4", MountOptions: "data=journal,nodelalloc",
		RootPassword: "pw", ErrorLogPatterns: []string{`\[ERROR\]`}}
	require.NoError(t, saveSpec(path, spec))
	got, err = loadSpec(path)
	require.NoError(t, err)
	assert.Equal(t, spec.String(), got.String())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "it holds a password")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	require.NoError(t, removeSpec(path))
	got, err = loadSpec(path)
	require.NoError(t, err)
	assert.Nil(t, got)

	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, err = loadSpec(path)
	assert.Error(t, err, "a corrupt spec is an error, not 'no server'")
}

func TestKernelMountOptions(t *testing.T) {
	flags, data, ok := kernelMountOptions("data=journal,nodelalloc")
	assert.True(t, ok)
	assert.Zero(t, flags)
	assert.Equal(t, "data=journal,nodelalloc", data)

	flags, data, ok = kernelMountOptions(" noatime , ro,data=ordered,rw,nosuid ")
	assert.True(t, ok)
	assert.Equal(t, uintptr(unix.MS_NOATIME|unix.MS_NOSUID), flags, "the later rw clears ro, as in mount(8)")
	assert.Equal(t, "data=ordered", data)

	flags, data, ok = kernelMountOptions("")
	assert.True(t, ok)
	assert.Zero(t, flags)
	assert.Empty(t, data)

	for _, o := range []string{"noauto", "nofail", "x-systemd.device-timeout=5", "defaults,user"} {
		_, _, ok = kernelMountOptions(o)
		assert.False(t, ok, "%s is for mount(8)", o)
	}
}

func TestMountAndMkfsOptions(t *testing.T) {
	assert.Equal(t, "data=journal,nodelalloc", mountOptions("ext4", "data=journal"))
	assert.Equal(t, "data=journal,nodelalloc", mountOptions("ext4", " data=journal , nodelalloc "))
	assert.Equal(t, "data=ordered", mountOptions("ext4", "data=ordered"))
	assert.Equal(t, "", mountOptions("xfs", ""))

	spec := &pb.ProvisionServer{FsType: "ext4", Device: "/dev/vdb", MkfsOptions: []string{"-O", "^has_journal"}, MountOptions: "data=writeback"}
	args, err := mkfsArgs(spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"mkfs.ext4", "-F", "-q", "-O", "^has_journal", "/dev/vdb"}, args)
	assert.Equal(t, []string{"mount", "-t", "ext4", "-o", "data=writeback", "/dev/vdb", "/data"}, mountArgs(spec, "/data"))
	spec.FsType = "xfs"
	args, err = mkfsArgs(spec)
	require.NoError(t, err)
	assert.Equal(t, "-f", args[1])
	spec.FsType = "ntfs"
	_, err = mkfsArgs(spec)
	assert.Error(t, err)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestInstallChunks(t *testing.T) {
	root := t.TempDir()
	in := &installer{root: root}
	data := bytes.Repeat([]byte("x"), 2500)
	send := func(id string, off int64, b []byte, last bool, sum string) (*pb.InstallResult, bool, error) {
		return in.chunk(id, &pb.InstallServer{Name: "srv", Version: "1.0", Offset: off, Data: b, Last: last, Sha256: sum})
	}
	_, done, err := send("c1", 0, data[:1000], false, "")
	require.NoError(t, err)
	assert.False(t, done)
	_, done, err = send("c1", 1000, data[1000:2000], false, "")
	require.NoError(t, err)
	assert.False(t, done)
	res, done, err := send("c1", 2000, data[2000:], true, sha(data))
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, filepath.Join(root, "srv", "1.0", "srv"), res.GetPath())
	got, err := os.ReadFile(res.GetPath())
	require.NoError(t, err)
	assert.Equal(t, data, got)
	fi, _ := os.Stat(res.GetPath())
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())

	t.Run("checksum mismatch", func(t *testing.T) {
		_, done, err := in.chunk("c2", &pb.InstallServer{Name: "srv", Version: "2.0", Data: []byte("abc"), Last: true, Sha256: sha([]byte("abd"))})
		assert.True(t, done)
		require.ErrorContains(t, err, "sha256 mismatch")
		_, err = os.Stat(filepath.Join(root, "srv", "2.0", "srv"))
		assert.True(t, os.IsNotExist(err), "nothing installed")
		assertNoTemps(t, filepath.Join(root, "srv", "2.0"))
	})
	t.Run("gap", func(t *testing.T) {
		_, done, err := send("c3", 0, []byte("ab"), false, "")
		require.NoError(t, err)
		assert.False(t, done)
		_, done, err = send("c3", 5, []byte("cd"), false, "")
		assert.True(t, done, "an error answers at once")
		require.ErrorContains(t, err, "offset 5, expected 2")
		_, done, err = send("c3", 7, []byte("ef"), true, "")
		assert.NoError(t, err, "later chunks of a failed upload are ignored")
		assert.True(t, done)
		got, _ := os.ReadFile(filepath.Join(root, "srv", "1.0", "srv"))
		assert.Equal(t, data, got, "the installed build is untouched")
		assertNoTemps(t, filepath.Join(root, "srv", "1.0"))
	})
	t.Run("bad name", func(t *testing.T) {
		_, done, err := in.chunk("c4", &pb.InstallServer{Name: "../etc", Version: "1", Last: true})
		assert.True(t, done)
		assert.Error(t, err)
	})
	t.Run("abort", func(t *testing.T) {
		_, _, err := send("c5", 0, []byte("ab"), false, "")
		require.NoError(t, err)
		in.abort()
		assertNoTemps(t, filepath.Join(root, "srv", "1.0"))
	})
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".upload-"), "temporary file %s left behind", e.Name())
	}
}

func TestLineWatcher(t *testing.T) {
	var mu sync.Mutex
	var matches []string
	w := newLineWatcher(3, []*regexp.Regexp{regexp.MustCompile(`\[ERROR\]`), regexp.MustCompile(`corrupt`)}, func(line, pattern string) {
		mu.Lock()
		defer mu.Unlock()
		matches = append(matches, pattern+" => "+line)
	})
	a, b := w.source(), w.source()
	io.WriteString(a, "one\ntw")
	io.WriteString(b, "[ERROR] from b\r\n")
	io.WriteString(a, "o\nthree [ERROR] corrupt\nfour\n")
	assert.Equal(t, []string{"two", "three [ERROR] corrupt", "four"}, w.tail(), "last 3 lines; partial lines of one stream are not mixed with another")
	assert.Equal(t, []string{`\[ERROR\] => [ERROR] from b`, `\[ERROR\] => three [ERROR] corrupt`}, matches, "one event per line, first matching pattern")
}

func TestFileTailer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	require.NoError(t, os.WriteFile(path, []byte("before reset\n"), 0o644))
	w := newLineWatcher(10, nil, nil)
	ft := &fileTailer{path: path}
	ft.skipExisting()
	ft.poll(w.source())
	assert.Empty(t, w.tail(), "lines from before the start are skipped")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	f.WriteString("new 1\nnew 2\n")
	f.Close()
	src := w.source()
	ft.poll(src)
	assert.Equal(t, []string{"new 1", "new 2"}, w.tail())
	require.NoError(t, os.WriteFile(path, []byte("rotated\n"), 0o644))
	ft.poll(src)
	assert.Equal(t, []string{"new 1", "new 2", "rotated"}, w.tail(), "a truncated file is read from the start")
}

func TestCollectTar(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data", "sub"), 0o755))
	big := bytes.Repeat([]byte("0123456789abcdef"), 150_000) // 2.4 MB: several chunks
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "sub", "big"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log"), []byte("log line\n"), 0o644))
	require.NoError(t, os.Symlink("log", filepath.Join(dir, "data", "link")))
	var chunks [][]byte
	err := collect(t.Context(), []string{filepath.Join(dir, "data"), filepath.Join(dir, "log"), filepath.Join(dir, "missing")},
		func(b []byte) error {
			assert.LessOrEqual(t, len(b), chunkSize)
			chunks = append(chunks, append([]byte(nil), b...))
			return nil
		})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(chunks), 3)
	tr := tar.NewReader(bytes.NewReader(bytes.Join(chunks, nil)))
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
		if strings.HasSuffix(h.Name, "link") {
			assert.Equal(t, "log", h.Linkname)
		}
	}
	rel := strings.TrimPrefix(dir, "/")
	assert.Equal(t, big, files[rel+"/data/sub/big"])
	assert.Equal(t, "log line\n", string(files[rel+"/log"]))
	assert.Contains(t, files, rel+"/data/link")
}

func TestExecCommand(t *testing.T) {
	res, err := execCommand(t.Context(), []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, 0)
	require.NoError(t, err)
	assert.Equal(t, int32(7), res.GetExitCode())
	assert.Contains(t, string(res.GetOutput()), "out\n")
	assert.Contains(t, string(res.GetOutput()), "err\n")
	res, err = execCommand(t.Context(), []string{"sh", "-c", "kill -9 $$"}, 0)
	require.NoError(t, err)
	assert.Equal(t, int32(128+9), res.GetExitCode())
	_, err = execCommand(t.Context(), []string{"/nonexistent/binary"}, 0)
	assert.Error(t, err)
}

func TestExecLingeringChildDoesNotHoldTheResult(t *testing.T) {
	// The command exits at once, but its background child keeps stdout.
	// The child lives far longer than any busy host makes the command, so
	// only a wait for the child's pipe can reach the bound.
	start := time.Now()
	res, err := execCommand(t.Context(), []string{"sh", "-c", "sleep 60 & echo started"}, time.Second)
	took := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, "started\n", string(res.GetOutput()))
	assert.Less(t, took, 30*time.Second, "returned after %s: it waited for the child's pipe", took)

	// The command itself outlives its timeout, with a child in its group.
	start = time.Now()
	res, err = execCommand(t.Context(), []string{"sh", "-c", "sleep 60 & echo $!; wait"}, time.Second)
	took = time.Since(start)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "killed after 1s")
	assert.Less(t, took, 30*time.Second, "returned after %s", took)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(res.GetOutput())))
	require.NoError(t, perr, "output so far comes back: %q", res.GetOutput())
	require.Eventually(t, func() bool { return processGoneOrZombie(pid) }, 5*time.Second, 20*time.Millisecond,
		"the timeout kills the whole process group, not only its leader")
}

func processGoneOrZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

func TestBoundEvent(t *testing.T) {
	huge := strings.Repeat("x", 10<<20) + "\n"
	ll := &pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: huge, Pattern: "x"}}}
	require.True(t, boundEvent(ll))
	text := ll.GetLogLine().GetText()
	assert.LessOrEqual(t, len(text), maxEventString+64)
	assert.Contains(t, text, "bytes cut]", "truncation is marked")

	tail := make([]string, 5000)
	for i := range tail {
		tail[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("y", 1000))
	}
	tail[10] = "bad utf-8 \xff\xfe"
	ex := &pb.Event{Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{LogTail: tail}}}
	require.Greater(t, proto.Size(ex), maxEventBytes)
	require.True(t, boundEvent(ex))
	assert.LessOrEqual(t, proto.Size(ex), maxEventBytes)
	got := ex.GetServerExited().GetLogTail()
	assert.Contains(t, got[0], "earlier lines cut", "the cut is marked")
	assert.True(t, strings.HasPrefix(got[len(got)-1], "line 4999 "), "the newest lines are kept")
	_, err := proto.Marshal(ex)
	assert.NoError(t, err, "the event marshals (valid UTF-8)")

	rf := &pb.Event{Kind: &pb.Event_RestoreFailed{RestoreFailed: &pb.RestoreFailed{Reason: strings.Repeat("x", 1<<20)}}}
	require.True(t, boundEvent(rf))
	assert.LessOrEqual(t, proto.Size(rf), maxEventBytes)
}

// failingStream is an agent stream whose every Send fails.
type failingStream struct {
	grpc.BidiStreamingClient[pb.AgentMessage, pb.Command]
	sends int
}

func (f *failingStream) Send(*pb.AgentMessage) error {
	f.sends++
	return errors.New("stream broken")
}

func TestEventThatKeepsFailingIsDropped(t *testing.T) {
	var logBuf bytes.Buffer
	a := &Agent{log: slog.New(slog.NewTextHandler(&logBuf, nil)), events: make(chan queuedEvent, 8)}
	a.emit(&pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: "x"}}})
	fs := &failingStream{}
	for range sendAttempts + 2 { // a session each
		a.pump(t.Context(), &streamSender{stream: fs})
		if len(a.events) == 0 {
			break
		}
	}
	assert.Equal(t, sendAttempts, fs.sends, "tried once per session, %d times", sendAttempts)
	assert.Empty(t, a.events, "then dropped, not re-queued forever")
	assert.Contains(t, logBuf.String(), "dropping it")
}

// fakeKind runs a shell script as "the server", to test the watcher.
type fakeKind struct{ script, logFile string }

var _ serverkind.Kind = fakeKind{}

func (fakeKind) Name() string                                    { return "fake" }
func (fakeKind) Uploaded() bool                                  { return false }
func (fakeKind) Init(context.Context, serverkind.Instance) error { return nil }
func (k fakeKind) Command(serverkind.Instance) *exec.Cmd         { return exec.Command("sh", "-c", k.script) }
func (k fakeKind) LogFile(serverkind.Instance) string            { return k.logFile }
func (fakeKind) DataPaths(serverkind.Instance) []string          { return nil }
func (fakeKind) AdminDSN(serverkind.Instance) string             { return "" }
func (fakeKind) Bootstrap(context.Context, *sql.DB, serverkind.Instance) error {
	return nil
}

func testManager(t *testing.T) (*serverManager, chan *pb.Event) {
	paths := tempPaths(t)
	events := make(chan *pb.Event, 100)
	m, err := newServerManager(paths, slog.New(slog.NewTextHandler(io.Discard, nil)), func(e *pb.Event) { events <- e }, health.NewServer())
	require.NoError(t, err)
	return m, events
}

func TestServerWatcherReportsUnexpectedExit(t *testing.T) {
	m, events := testManager(t)
	logFile := filepath.Join(t.TempDir(), "server.log")
	k := fakeKind{logFile: logFile, script: `for i in 1 2 3 4 5 6; do echo "stdout $i"; done
echo "env=$CRASHRIG_TEST_ENV"
echo "[ERROR] disk on fire" >> ` + logFile + `
sleep 0.3
echo "last words" >&2
exit 3`}
	spec := &pb.ProvisionServer{Kind: "fake", ErrorLogPatterns: []string{`\[ERROR\]`}, Env: []string{"CRASHRIG_TEST_ENV=yes"}}
	p, err := m.start(k, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	pid, err := os.ReadFile(filepath.Join(m.paths.Run, serverkind.PIDFileName))
	require.NoError(t, err)
	assert.NotEmpty(t, pid, "pid file for kill -9 tests")

	var gotLine, gotExit *pb.Event
	timeout := time.After(10 * time.Second)
	for gotExit == nil {
		select {
		case e := <-events:
			switch {
			case e.GetLogLine() != nil:
				gotLine = e
			case e.GetServerExited() != nil:
				gotExit = e
			}
		case <-timeout:
			t.Fatal("no ServerExited event")
		}
	}
	require.NotNil(t, gotLine, "log file line matching a pattern is reported")
	assert.Equal(t, "[ERROR] disk on fire", gotLine.GetLogLine().GetText())
	x := gotExit.GetServerExited()
	assert.Equal(t, int32(3), x.GetCode())
	assert.Empty(t, x.GetSignal())
	assert.Equal(t, "last words", x.GetLogTail()[len(x.GetLogTail())-1])
	assert.Contains(t, x.GetLogTail(), "stdout 1")
	assert.Contains(t, x.GetLogTail(), "env=yes", "spec env reaches the server")
	<-p.done
	assert.False(t, m.Status().GetReady())
	p.wg.Wait()
}

func TestServerWatcherSignalAndExpectedStop(t *testing.T) {
	m, events := testManager(t)
	k := fakeKind{script: "echo started; exec sleep 60"}
	spec := &pb.ProvisionServer{Kind: "fake"}
	p, err := m.start(k, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	require.NoError(t, p.cmd.Process.Kill()) // a crash: kill -9 behind the agent's back
	select {
	case e := <-events:
		require.NotNil(t, e.GetServerExited(), "got %v", e)
		assert.Equal(t, "killed", e.GetServerExited().GetSignal())
		assert.Equal(t, int32(-1), e.GetServerExited().GetCode())
	case <-time.After(10 * time.Second):
		t.Fatal("no ServerExited event for kill -9")
	}

	// A stop the agent was asked for is not an event.
	p, err = m.start(k, serverkind.Instance{Spec: spec})
	require.NoError(t, err)
	m.setReady(spec, p, "")
	require.NotNil(t, (<-events).GetServerReady())
	assert.True(t, m.Status().GetReady())
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, healthStatus(t, m))
	require.NoError(t, m.Stop(t.Context(), true, false))
	select {
	case e := <-events:
		t.Fatalf("unexpected event for a requested stop: %v", e)
	case <-time.After(300 * time.Millisecond):
	}
	assert.False(t, m.Status().GetReady())
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, healthStatus(t, m))
}

func healthStatus(t *testing.T, m *serverManager) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := m.health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: healthService})
	require.NoError(t, err)
	return r.GetStatus()
}

// TestAgentAgainstControlPlane runs the real agent loop against the real
// control plane (no VM): hello, commands, a dropped stream and reconnect.
func TestAgentAgainstControlPlane(t *testing.T) {
	logs := &countingLog{t: t}
	cp, err := controlplane.New(t.Context(), controlplane.WithLogf(logs.logf))
	require.NoError(t, err)
	defer cp.Close()
	proxy := newTCPProxy(t, cp.Addr())
	vm, err := cp.AddAgent("agent1")
	require.NoError(t, err)

	paths := tempPaths(t)
	require.NoError(t, os.WriteFile(paths.Log, []byte("agent log\n"), 0o644))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := NewAgent(config{CP: proxy.ln.Addr().String(), Token: vm.Token(), VMID: "agent1"}, "boot-A", paths, logger, health.NewServer())
	require.NoError(t, err)
	runAgent(t, a)

	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	boot, err := vm.WaitAgent(wctx)
	require.NoError(t, err)
	assert.Equal(t, "boot-A", boot)

	require.NoError(t, vm.Sync(wctx))
	code, out, err := vm.Exec(wctx, "sh", "-c", "echo hello; exit 2")
	require.NoError(t, err)
	assert.Equal(t, 2, code)
	assert.Equal(t, "hello\n", out)

	// Exec commands run concurrently: a slow one does not hold back the
	// next, and the caller's deadline becomes the agent's timeout.
	slowCtx, slowCancel := context.WithTimeout(wctx, 3*time.Second)
	defer slowCancel()
	slowDone := make(chan error, 1)
	go func() {
		_, _, err := vm.Exec(slowCtx, "sleep", "37.25")
		slowDone <- err
	}()
	slowRuns := func() bool {
		code, _, err := vm.Exec(wctx, "pgrep", "-f", "^sleep 37.25$")
		require.NoError(t, err)
		return code == 0
	}
	require.Eventually(t, slowRuns, 2*time.Second, 20*time.Millisecond, "a second Exec runs while the first one does")
	select {
	case err := <-slowDone:
		t.Fatalf("the slow command ended early: %v", err)
	default:
	}
	require.Error(t, <-slowDone, "the slow command ends at the caller's deadline")
	require.Eventually(t, func() bool { return !slowRuns() }, 5*time.Second, 50*time.Millisecond,
		"the agent kills the slow command at its timeout, which comes from the caller's deadline")

	bin := bytes.Repeat([]byte{0xAB}, 3<<20+17)
	binPath := filepath.Join(t.TempDir(), "upload")
	require.NoError(t, os.WriteFile(binPath, bin, 0o755))
	require.NoError(t, vm.Install(wctx, serverkind.Bundled, "v1", binPath))
	got, err := os.ReadFile(filepath.Join(paths.Servers, serverkind.Bundled, "v1", serverkind.Bundled))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(bin, got), "installed build is the uploaded one")

	var tarball bytes.Buffer
	require.NoError(t, vm.Collect(wctx, nil, &tarball), "default paths: the agent log")
	tr := tar.NewReader(&tarball)
	h, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, strings.TrimPrefix(paths.Log, "/"), h.Name)

	err = vm.StopServer(wctx, true, false)
	assert.NoError(t, err, "stopping when nothing runs is fine")
	_, err = vm.Provision(wctx, controlplane.ServerSpec{Kind: serverkind.Bundled})
	assert.ErrorContains(t, err, "version", "agent-side validation reaches the caller")

	// The agent emits events; they arrive as VM events.
	a.emit(&pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: "[ERROR] x", Pattern: "ERROR"}}})
	select {
	case e := <-vm.Events():
		assert.Equal(t, "[ERROR] x", e.LogLine.GetText())
	case <-time.After(10 * time.Second):
		t.Fatal("event not delivered")
	}

	// Break the connection under the agent (as slirp does when the host
	// side goes away): it must reconnect within its short backoff.
	proxy.closeAll()
	start := time.Now()
	require.Eventually(t, func() bool { return logs.count("agent 0.1.0 connected") >= 2 }, 10*time.Second, 10*time.Millisecond)
	t.Logf("agent reconnected %s after its connection broke", time.Since(start).Round(time.Millisecond))
	require.NoError(t, vm.Sync(wctx), "commands work on the new stream")
}

// countingLog counts log lines containing a string.
type countingLog struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *countingLog) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	l.t.Log(s)
}

func (l *countingLog) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// tcpProxy forwards connections to target and can cut them all.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(u, c); u.Close() })
			p.wg.Go(func() { io.Copy(c, u); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestStopDeleteDataForgetsProvisioning(t *testing.T) {
	m, _ := testManager(t)
	spec := &pb.ProvisionServer{Kind: "fake"}
	require.NoError(t, saveSpec(filepath.Join(m.paths.State, specFile), spec))
	require.NoError(t, os.MkdirAll(filepath.Join(m.paths.Data, "mysql"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(m.paths.Data, "mysql", "ibdata1"), []byte("x"), 0o644))
	m.spec = spec
	_, err := m.start(fakeKind{script: "exec sleep 60"}, serverkind.Instance{Spec: spec})
	require.NoError(t, err)

	require.NoError(t, m.Stop(t.Context(), false, true))
	assert.False(t, m.Status().GetProvisioned())
	got, err := loadSpec(filepath.Join(m.paths.State, specFile))
	require.NoError(t, err)
	assert.Nil(t, got, "the server does not come back at the next boot")
	entries, err := os.ReadDir(m.paths.Data)
	require.NoError(t, err)
	assert.Empty(t, entries, "the database is deleted")

	// A fresh agent (the next boot) finds nothing to restore.
	m2, err := newServerManager(m.paths, m.log, func(*pb.Event) {}, health.NewServer())
	require.NoError(t, err)
	require.NoError(t, m2.Restore(t.Context()))
	assert.False(t, m2.Status().GetProvisioned())
}

// TestAgentParksAndResumesAsARestoredMachine runs the real agent against
// the real control plane through a standby template's life: parked by the
// template's control plane, it closes its stream; once its config (the
// file it was read from, as fw_cfg in a restored QEMU) names a resume id,
// it reseeds from the config's entropy, connects as the restored
// machine's agent with a boot id of its own, and sets its clock from the
// Welcome.
func TestAgentParksAndResumesAsARestoredMachine(t *testing.T) {
	cp, err := controlplane.New(t.Context(), controlplane.WithLogf(t.Logf))
	require.NoError(t, err)
	defer cp.Close()
	tmpl, err := cp.AddAgent("vm1~template1")
	require.NoError(t, err)
	restored, err := cp.AddAgent("vm1~standby2")
	require.NoError(t, err)

	paths := tempPaths(t)
	cfgPath := filepath.Join(t.TempDir(), "agent.json")
	writeCfg := func(vmID, token, resume string, entropy []byte) {
		b, err := protojson.Marshal(&pb.AgentConfig{ControlPlane: cp.Addr(), VmId: vmID, Token: token, ResumeId: resume, Entropy: entropy})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(cfgPath+".tmp", b, 0o600))
		require.NoError(t, os.Rename(cfgPath+".tmp", cfgPath))
	}
	writeCfg(tmpl.ID, tmpl.Token(), "", nil)
	cfg, err := readConfig(cfgPath)
	require.NoError(t, err)
	a, err := NewAgent(config{}, "kernel-boot", paths, slog.New(slog.NewTextHandler(io.Discard, nil)), health.NewServer())
	require.NoError(t, err)
	a.useConfig(cfg, cfgPath)
	var mu sync.Mutex
	var seeds [][]byte
	var clocks []int64
	a.reseed = func(seed []byte) error {
		mu.Lock()
		defer mu.Unlock()
		seeds = append(seeds, seed)
		return nil
	}
	a.setClock = func(ns int64) error {
		mu.Lock()
		defer mu.Unlock()
		clocks = append(clocks, ns)
		return nil
	}
	a.modprobe = nil // the host's modules are not the test's
	runAgent(t, a)

	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	boot, err := tmpl.WaitAgent(wctx)
	require.NoError(t, err)
	assert.Equal(t, "kernel-boot", boot, "a booted machine reports the kernel's boot id")
	require.NoError(t, tmpl.ParkAgent(wctx))
	require.Eventually(t, func() bool {
		sctx, scancel := context.WithTimeout(wctx, 100*time.Millisecond)
		defer scancel()
		return tmpl.Sync(sctx) != nil
	}, 5*time.Second, 10*time.Millisecond, "a parked agent closes its stream")
	time.Sleep(5 * resumePoll)
	assert.True(t, a.parking.Load(), "a config without a new resume id does not resume it")

	entropy := bytes.Repeat([]byte{7}, minResumeEntropy)
	writeCfg(restored.ID, restored.Token(), "r1", entropy)
	boot, err = restored.WaitAgent(wctx)
	require.NoError(t, err)
	assert.Equal(t, "kernel-boot~r1", boot, "a restored machine is a boot of its own")
	require.NoError(t, restored.Sync(wctx), "the resumed agent carries out commands")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, [][]byte{entropy}, seeds, "reseeded once, from the config's entropy")
	require.Len(t, clocks, 1, "the clock is set from the Welcome")
	assert.InDelta(t, time.Now().UnixNano(), clocks[0], float64(10*time.Second))
	sctx, scancel := context.WithTimeout(wctx, 100*time.Millisecond)
	defer scancel()
	assert.Error(t, tmpl.Sync(sctx), "the template's identity stays parked")
}

func TestParkedConfigNeedsEntropy(t *testing.T) {
	tok := strings.Repeat("cd", 16)
	_, err := parseConfig([]byte(`{"controlPlane": "127.0.0.1:1", "token": "` + tok + `", "vmId": "v", "resumeId": "r1"}`))
	assert.ErrorContains(t, err, "entropy", "a restored machine without a seed would share the template's random state")
}

// TestBootTimeCheck runs the boot-time check on file images: a clean ext4
// passes, a corrupted one it cannot preen is an error, and xfs has none.
func TestBootTimeCheck(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed (apt-get install -y e2fsprogs); CI installs it")
	}
	img := filepath.Join(t.TempDir(), "fs.img")
	require.NoError(t, exec.Command("truncate", "-s", "16M", img).Run())
	out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	check, err := bootTimeCheck(t.Context(), "ext4", img)
	require.NoError(t, err)
	assert.Contains(t, check, "clean")

	// Zero the primary superblock: preen mode gives up (exit 8).
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, 1024), 1024)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = bootTimeCheck(t.Context(), "ext4", img)
	assert.ErrorContains(t, err, "did not repair it", "an ext4 it cannot preen is no recovery")

	_, err = bootTimeCheck(t.Context(), "xfs", img)
	assert.ErrorIs(t, err, errNoBootTimeCheck)
}

// tempPaths are agent paths under a test's temporary directory.
func tempPaths(t *testing.T) Paths {
	dir := t.TempDir()
	return Paths{State: filepath.Join(dir, "state"), Data: filepath.Join(dir, "data"), Run: filepath.Join(dir, "run"),
		Servers: filepath.Join(dir, "servers"), Warm: filepath.Join(dir, "warm"), Log: filepath.Join(dir, "dcrts.log")}
}

// runAgent runs a's session loop until the test ends.
func runAgent(t *testing.T, a *Agent) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		a.Close()
	})
}
