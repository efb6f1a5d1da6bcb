package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// startLogMax bounds what setReady reads of a start's log for the
// server's recovery time (MariaDB logs a few dozen lines per start).
const startLogMax = 8 << 20

// start runs the server with its output and log file watched.
func (m *serverManager) start(k serverkind.Kind, in serverkind.Instance) (*serverProc, error) {
	p, err := m.spawn(k, in, k.Command(in), false)
	if err != nil {
		return nil, err
	}
	m.running(p)
	return p, nil
}

// spawn starts cmd, the server of k, with its output and log file watched
// (a gated process's log file from its release on). A gated process
// (Prepare) gets a pipe as its stdin, for the release, and one as
// descriptor 3, which it closes once it waits at its gate (atGate).
func (m *serverManager) spawn(k serverkind.Kind, in serverkind.Instance, cmd *exec.Cmd, gated bool) (*serverProc, error) {
	var patterns []*regexp.Regexp
	for _, s := range in.Spec.GetErrorLogPatterns() {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("error log pattern %q: %w", s, err)
		}
		patterns = append(patterns, re)
	}
	w := newLineWatcher(logTailLines, patterns, func(line, pattern string) {
		m.emit(&pb.Event{Kind: &pb.Event_LogLine{LogLine: &pb.LogLine{Text: line, Pattern: pattern}}})
	})
	// The provisioning's env comes after the spec's own (Command's), so
	// it wins.
	if env := in.Spec.GetEnv(); len(env) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.Stdout = w.source()
	cmd.Stderr = w.source()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &serverProc{cmd: cmd, kind: k, tailer: &fileTailer{path: k.LogFile(in)},
		done: make(chan struct{}), watcher: w, quit: make(chan struct{})}
	p.logFile = p.tailer.path
	if gated {
		// Only the agent holds the write end: if the agent dies, the
		// server reads EOF at its gate and exits.
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("start %s: stdin: %w", k.Name(), err)
		}
		// Descriptor 3: the server closes it once it waits at its gate.
		readyR, readyW, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("start %s: gate pipe: %w", k.Name(), err)
		}
		defer readyW.Close() // the child has its own copy
		cmd.ExtraFiles = []*os.File{readyW}
		p.gated, p.gate, p.atGate = true, stdin, make(chan struct{})
		p.wg.Go(func() {
			// EOF: the server closed it at its gate, or exited.
			defer close(p.atGate)
			defer readyR.Close()
			io.Copy(io.Discard, readyR)
		})
	} else {
		p.tailer.skipExisting()
		p.logStart = p.tailer.off
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", k.Name(), err)
	}
	m.log.Info("server started", "kind", k.Name(), "pid", cmd.Process.Pid, "gated", gated, "cmd", strings.Join(cmd.Args, " "))
	if !gated {
		p.watchLog() // before the reaper: the log's last words go into an exit's report
	}
	p.wg.Go(func() {
		p.waitErr = cmd.Wait()
		p.mu.Lock()
		p.reaped = true
		tailed := p.tailed
		p.mu.Unlock()
		close(p.quit)
		if tailed != nil {
			<-tailed
		}
		close(p.done)
		m.exited(k, p)
	})
	return p, nil
}

// running makes p the server of this VM (pid file for a respawned agent).
func (m *serverManager) running(p *serverProc) {
	os.MkdirAll(m.paths.Run, 0o755)
	os.WriteFile(filepath.Join(m.paths.Run, serverkind.PIDFileName), []byte(strconv.Itoa(p.cmd.Process.Pid)), 0o644)
	m.mu.Lock()
	m.proc, m.ready = p, false
	m.mu.Unlock()
}

// exited handles the end of the server process: an exit the agent did not
// ask for is reported as ServerExited.
func (m *serverManager) exited(k serverkind.Kind, p *serverProc) {
	m.mu.Lock()
	if m.proc == p {
		m.proc, m.ready = nil, false
	}
	prepared := m.prepared != nil && m.prepared.proc == p
	if prepared {
		m.prepared = nil
	}
	m.mu.Unlock()
	if prepared {
		// Never released: it served nothing. An exit the agent did not
		// ask for is still reported (the control plane logs a standby's
		// events), and the attach starts a server instead.
		m.log.Warn("prepared server exited before its release", "kind", k.Name(), "pid", p.cmd.Process.Pid, "state", p.stateString())
	} else {
		m.health.SetServingStatus(healthService, healthpb.HealthCheckResponse_NOT_SERVING)
		os.Remove(filepath.Join(m.paths.Run, serverkind.PIDFileName))
	}
	if p.exitExpected() {
		m.log.Info("server stopped", "kind", k.Name(), "state", p.stateString())
		return
	}
	code, sig := p.exitStatus()
	m.log.Error("server exited unexpectedly", "kind", k.Name(), "pid", p.cmd.Process.Pid, "state", p.stateString())
	m.emit(&pb.Event{Kind: &pb.Event_ServerExited{ServerExited: &pb.ServerExited{
		Kind: k.Name(), Pid: int32(p.cmd.Process.Pid), Code: code, Signal: sig, LogTail: p.watcher.tail()}}})
}

// kill stops a server that failed to provision.
func (m *serverManager) kill(p *serverProc) {
	p.expectExit()
	p.cmd.Process.Kill()
	<-p.done
}

// Close stops watching (waits for the watcher goroutines of an exited
// server). The server keeps running: the agent may be restarted by init.
func (m *serverManager) Close() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.stopWatching()
	}
}

// serverProc is one run of the server.
type serverProc struct {
	cmd     *exec.Cmd
	kind    serverkind.Kind
	watcher *lineWatcher
	tailer  *fileTailer
	// logFile is the server's own log; this run's lines start at logStart.
	logFile  string
	logStart int64
	// gated: started gated (Prepare); gate is its stdin until the
	// release.
	gated   bool
	gate    io.WriteCloser
	atGate  chan struct{} // closed when the gated server waits at its gate (or exited)
	done    chan struct{} // closed once the process is reaped and its log read
	quit    chan struct{} // stops the log tailer
	waitErr error
	wg      sync.WaitGroup

	mu       sync.Mutex
	expected bool
	reaped   bool          // the process has exited
	tailed   chan struct{} // closed when the log tailer has stopped; nil until watchLog
}

// watchLog starts following the server's log file from where it ends now
// (a gated process: at its release, once the data disk is mounted); false
// if the process has exited already.
func (p *serverProc) watchLog() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return false
	}
	tailed := make(chan struct{})
	p.tailed = tailed
	sink := p.watcher.source()
	p.wg.Go(func() {
		defer close(tailed)
		p.tailer.run(p.quit, sink)
		p.tailer.poll(sink) // the last words before the exit
	})
	return true
}

// startLog is what the server wrote to its log file since this run
// started (at most startLogMax bytes); for a server without a log file of
// its own, the last lines of its output.
func (p *serverProc) startLog() string {
	if p.logFile == "" {
		return strings.Join(p.watcher.tail(), "\n")
	}
	f, err := os.Open(p.logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	off := p.logStart
	if fi, err := f.Stat(); err == nil && fi.Size() < off {
		off = 0 // truncated or replaced since
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, startLogMax))
	return string(b)
}

func (p *serverProc) expectExit() {
	p.mu.Lock()
	p.expected = true
	p.mu.Unlock()
}

func (p *serverProc) exitExpected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.expected
}

func (p *serverProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *serverProc) stopWatching() {
	select {
	case <-p.done:
		p.wg.Wait()
	default:
	}
}

// exitStatus is the exit code (-1 if signalled) and the signal name.
func (p *serverProc) exitStatus() (int32, string) {
	ps := p.cmd.ProcessState
	if ps == nil {
		return -1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return int32(ps.ExitCode()), ""
}

func (p *serverProc) exitedCleanly() bool {
	return p.cmd.ProcessState != nil && p.cmd.ProcessState.Success()
}

func (p *serverProc) stateString() string {
	if p.cmd.ProcessState == nil {
		return fmt.Sprint(p.waitErr)
	}
	return p.cmd.ProcessState.String()
}

// killStale kills a server left by an earlier agent process of this boot
// (init respawned the agent); the run directory is a tmpfs, so a pid file
// never survives a reset.
func killStale(path string, log *slog.Logger) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if syscall.Kill(pid, syscall.SIGKILL) == nil {
		log.Warn("killed server left by a previous agent", "pid", pid)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}
