package localserver

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/vmimage"
)

// Compile-time checks of the interfaces the harness consumes.
var (
	_ harness.Instance          = (*Server)(nil)
	_ harness.ArtifactCollector = (*Server)(nil)
	_ harness.Backend           = (*Backend)(nil)
)

// BinaryEnv names a prebuilt crashrig-sqlserver to use instead of building.
const BinaryEnv = vmimage.EnvSQLServerBin

// Build compiles crashrig-sqlserver into dir and returns its path, or
// returns $CRASHRIG_SQLSERVER_BIN if set (see vmimage.Prebuilt).
func Build(ctx context.Context, dir string) (string, error) {
	if p, err := vmimage.Prebuilt("crashrig-sqlserver"); err != nil || p != "" {
		return p, err
	}
	out := filepath.Join(dir, "crashrig-sqlserver")
	// Static linux/amd64: the VM backend uploads the same binary.
	if err := vmimage.GoBuildStatic(ctx, "", "github.com/crashrig/crashrig/cmd/crashrig-sqlserver", out); err != nil {
		return "", err
	}
	return out, nil
}

// Options configure a local server.
type Options struct {
	Binary string
	// Dir holds data/ and the server logs; the caller removes it.
	Dir     string
	Fault   string
	GCPause time.Duration
	// TearTail is the probability, per crash, of appending a torn journal
	// record after the kill: what a crash in the middle of an
	// unacknowledged write leaves on disk (length header written, body
	// not). A correct server discards it.
	TearTail float64
	// CleanRestart is the probability, per crash, of a clean restart
	// instead of a kill: SIGTERM, wait for a clean exit, start again. A
	// server must keep every acknowledged commit across it too (issue 17:
	// one lost commits whose journal record was over 64 MiB after any
	// restart, clean or not). When it is above 0 the first crash is always
	// a clean restart, so that even a short run has one.
	CleanRestart float64
	// StopTimeout bounds a clean shutdown; a server that takes longer is
	// a finding (default 30s).
	StopTimeout time.Duration
	Seed        uint64
	// ReadyTimeout bounds each (re)start.
	ReadyTimeout time.Duration
}

// Backend starts local servers in fresh directories under Root.
type Backend struct {
	Binary       string
	Root         string
	TearTail     float64
	CleanRestart float64
	Logf         func(string, ...any)
}

// Start implements harness.Backend. Filesystem configs cannot be applied
// to the host's filesystem; they are logged and ignored.
func (b *Backend) Start(ctx context.Context, spec harness.Spec) (harness.Instance, error) {
	if spec.Flavor != model.Bundled {
		return nil, fmt.Errorf("local backend runs only the bundled server, not %q", spec.Flavor)
	}
	if b.Logf != nil && spec.FS.Name != "" {
		b.Logf("local backend: filesystem config %s not applied (host filesystem under %s)", spec.FS.Name, b.Root)
	}
	dir, err := os.MkdirTemp(b.Root, "local-")
	if err != nil {
		return nil, fmt.Errorf("create server dir: %w", err)
	}
	return Start(ctx, Options{Binary: b.Binary, Dir: dir, Fault: spec.Fault, GCPause: spec.GCPause, TearTail: b.TearTail, CleanRestart: b.CleanRestart, Seed: spec.Seed})
}

// Server is a running (or crashed) local server.
type Server struct {
	opts    Options
	addr    string
	dataDir string
	rng     *rand.Rand
	// rootPassword is set when the database is created: the server
	// refuses a root without one unless told it is insecure (issue 17).
	rootPassword string
	crashes      int // Crash calls so far; the nemesis runs in one goroutine

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
	logs   []string
}

// Start launches the server on a free port and waits until it is ready.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 30 * time.Second
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 8)
	if _, err := cryptorand.Read(pw); err != nil {
		return nil, fmt.Errorf("root password: %w", err)
	}
	s := &Server{opts: opts, addr: addr, dataDir: filepath.Join(opts.Dir, "data"), rng: rand.New(rand.NewPCG(opts.Seed, 2)), rootPassword: hex.EncodeToString(pw)}
	if _, err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// DSN implements harness.Target.
func (s *Server) DSN() string { return "root:" + s.rootPassword + "@tcp(" + s.addr + ")/" }

// Addr is the server's listen address.
func (s *Server) Addr() string { return s.addr }

// DataDir is the server's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// start launches a process and waits until it logs readiness; it returns
// the server-reported recovery time.
func (s *Server) start(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	logPath := filepath.Join(s.opts.Dir, fmt.Sprintf("server-%03d.log", len(s.logs)+1))
	s.logs = append(s.logs, logPath)
	args := []string{"-data-dir", s.dataDir, "-listen", s.addr, "-log-file", logPath, "-root-password", s.rootPassword}
	env := os.Environ()
	if s.opts.Fault != "" || s.opts.GCPause > 0 {
		env = append(env, "CRASHRIG_UNSAFE_FAULTS=I_UNDERSTAND")
		if s.opts.Fault != "" {
			args = append(args, "-unsafe-fault="+s.opts.Fault)
		}
		if s.opts.GCPause > 0 {
			args = append(args, "-unsafe-gc-pause="+s.opts.GCPause.String())
		}
	}
	cmd := exec.Command(s.opts.Binary, args...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("start %s: %w", s.opts.Binary, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	// The reaper goroutine is owned by the Server: kill waits for it.
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	deadline := time.NewTimer(s.opts.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		log, _ := os.ReadFile(logPath)
		if bytes.Contains(log, []byte(serverkind.ReadyForConnections)) {
			rec, _ := serverkind.RecoveryTime(serverkind.Bundled, string(log))
			return rec, nil
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("%w: process exited before ready (%v); log %s:\n%s", harness.ErrNotRecovered, cmd.ProcessState, logPath, tail(log))
		case <-deadline.C:
			s.kill()
			return 0, fmt.Errorf("%w: not ready after %v; log %s:\n%s", harness.ErrNotRecovered, s.opts.ReadyTimeout, logPath, tail(log))
		case <-ctx.Done():
			s.kill()
			return 0, fmt.Errorf("waiting for server: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func tail(b []byte) string {
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// kill sends SIGKILL and waits until the process is reaped.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Crash kinds this nemesis records in report.CrashReport.Kind.
const (
	KindKill         = "kill"
	KindCleanRestart = "clean-restart"
)

// Crash implements harness.Nemesis: kill -9 and maybe tear the journal
// tail, or (with probability CleanRestart) stop cleanly with SIGTERM; then
// restart and wait until ready.
func (s *Server) Crash(ctx context.Context) (report.CrashReport, error) {
	cr := report.CrashReport{Requested: time.Now(), Kind: KindKill}
	// Draw only when clean restarts are on, so runs without them keep the
	// choices a seed gave before.
	if s.opts.CleanRestart > 0 && (s.crashes == 0 || s.rng.Float64() < s.opts.CleanRestart) {
		s.crashes++
		cr.Kind = KindCleanRestart
		if err := s.stop(ctx); err != nil {
			cr.Down = time.Since(cr.Requested)
			return cr, err
		}
		cr.Down = time.Since(cr.Requested)
		return s.restart(ctx, cr)
	}
	s.crashes++
	s.kill()
	cr.Down = time.Since(cr.Requested)
	if s.opts.TearTail > 0 && s.rng.Float64() < s.opts.TearTail {
		n, err := s.tearTail()
		if err != nil {
			return cr, fmt.Errorf("tear journal tail: %w", err)
		}
		cr.Detail = fmt.Sprintf("appended a torn %d-byte root record to the journal", n)
	}
	return s.restart(ctx, cr)
}

// restart starts the server after a kill or clean stop and completes cr.
func (s *Server) restart(ctx context.Context, cr report.CrashReport) (report.CrashReport, error) {
	rec, err := s.start(ctx)
	cr.Ready, cr.ServerRecovery, cr.RecoveryReported = time.Since(cr.Requested), rec, err == nil
	return cr, err
}

// stop sends SIGTERM and waits for the process to exit. A server that does
// not exit within StopTimeout (it is then killed) or exits with an error is
// a finding: ErrNotRecovered, as for a server that does not come back.
func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	select {
	case <-exited:
		return fmt.Errorf("%w: the server had exited before the clean restart (%v)", harness.ErrFailedBeforeCrash, cmd.ProcessState)
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	t := time.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		s.kill()
		return fmt.Errorf("%w: no clean exit %v after SIGTERM (killed)", harness.ErrNotRecovered, s.opts.StopTimeout)
	case <-ctx.Done():
		s.kill()
		return fmt.Errorf("waiting for a clean exit: %w", ctx.Err())
	}
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("%w: clean shutdown after SIGTERM exited with %v", harness.ErrNotRecovered, cmd.ProcessState)
	}
	return nil
}

// tearTail appends a root record whose header made it to disk but whose
// body did not (a random-length prefix of it), as a torn write of an
// unacknowledged commit would leave.
func (s *Server) tearTail() (int, error) {
	man, err := manifest.Read(fsys.OS{}, filepath.Join(s.dataDir, manifest.FileName))
	if err != nil {
		return 0, err
	}
	var root chunk.Hash // zero hash and sequence: what a zero-filled tail reads as
	rec := journal.AppendRecord(nil, journal.KindRoot, journal.RootBody(root, 0))
	rec = rec[:journal.RecordHeaderSize+s.rng.IntN(journal.RootBodySize)]
	f, err := os.OpenFile(filepath.Join(s.dataDir, man.Journal), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(rec); err != nil {
		_ = f.Close()
		return 0, err
	}
	return len(rec), f.Close()
}

// Close implements harness.Instance: kill -9 the server. The data
// directory is the caller's (Options.Dir).
func (s *Server) Close() error {
	s.kill()
	return nil
}

// CollectArtifacts implements harness.ArtifactCollector: copies the server
// logs (one per start) into dir.
func (s *Server) CollectArtifacts(_ context.Context, dir string) error {
	s.mu.Lock()
	logs := append([]string(nil), s.logs...)
	s.mu.Unlock()
	var errs []error
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
