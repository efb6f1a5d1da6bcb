package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// Warming a server up. A machine restored from a standby template has the
// template's page cache but none of QEMU's translated code (TCG's cache
// is not part of a saved machine), so a server's first start in it runs
// all of its code through the translator: MariaDB's first start in a
// fresh machine took ~0.2-0.3 s of its ~1 s longer than a second one. A
// kind without a start gate cannot be started ahead, so PrepareServer
// warms it up instead: the server runs once on a throwaway data directory
// on the root disk (Paths.Warm) until it accepts a connection, and is
// killed. The template initialises the directory (the spec's init
// commands) and runs the server once, so every restored standby runs it
// on the template's copy through the same crash recovery a real start
// after a crash does. Nothing of the data disk is involved: it is not
// attached yet, and the throwaway server has its own directories, port
// and socket and is dead before PrepareServer answers.

// warmPort is where the throwaway server listens by default.
const warmPort = serverkind.GuestPort + 1

// warmTimeout bounds a warm-up's run (not its one-time init).
const warmTimeout = 2 * time.Minute

// warmPoll is the pause between connection tries of a warm-up.
const warmPoll = 20 * time.Millisecond

// greetingTimeout bounds the wait for a server's first bytes on an
// accepted connection (a MySQL server greets first).
const greetingTimeout = 3 * time.Second

// warm runs spec's server once on the throwaway directory (m.op held).
func (m *serverManager) warm(ctx context.Context, k serverkind.Kind, spec *pb.ProvisionServer) (*pb.ProvisionResult, error) {
	start := time.Now()
	_, in, err := m.instance(spec)
	if err != nil {
		return nil, err
	}
	in.DataDir, in.StateDir = filepath.Join(m.paths.Warm, "data"), filepath.Join(m.paths.Warm, "state")
	in.Port, in.Socket = m.warmPort, filepath.Join(in.DataDir, "warm.sock")
	if err := m.initWarm(ctx, k, in); err != nil {
		return nil, fmt.Errorf("prepare: warm %s up: initialise %s: %w", k.Name(), m.paths.Warm, err)
	}
	// Bounded below a start's own timeout: a spec whose server does not
	// listen on {port} (a port written into its config) would otherwise
	// hold the template that long, for a gain of a second per crash.
	ctx, cancel := context.WithTimeout(ctx, min(startTimeout(k), warmTimeout))
	defer cancel()
	if err := runOnce(ctx, k, in, filepath.Join(m.paths.Warm, "server.out")); err != nil {
		return nil, fmt.Errorf("prepare: warm %s up: %w", k.Name(), err)
	}
	// What the throwaway server wrote goes to the disk now, not during
	// the attach, whose durable writes of the config and provisioning
	// (fsyncs on the same file system) it would slow down.
	if err := serverkind.SyncFS(m.paths.Warm); err != nil {
		return nil, fmt.Errorf("prepare: warm %s up: %w", k.Name(), err)
	}
	took := time.Since(start)
	m.log.Info("server warmed up on a throwaway data directory", "kind", k.Name(), "dir", m.paths.Warm, "took", took.Round(time.Millisecond))
	return &pb.ProvisionResult{Seconds: took.Seconds(), Warmed: true}, nil
}

// initWarm initialises the throwaway directory for in.Spec unless it
// already is: its marker holds the spec it was made for.
func (m *serverManager) initWarm(ctx context.Context, k serverkind.Kind, in serverkind.Instance) error {
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(in.Spec)
	if err != nil {
		return err
	}
	marker := filepath.Join(m.paths.Warm, "initialized")
	if have, err := os.ReadFile(marker); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := os.RemoveAll(m.paths.Warm); err != nil {
		return err
	}
	for _, d := range []string{in.DataDir, in.StateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := k.Init(ctx, in); err != nil {
		return err
	}
	return serverkind.WriteFileDurable(marker, want, 0o644)
}

// runOnce starts k's server for in, waits until it accepts a connection
// and greets, then kills it (its process group) and waits for its exit.
// Its output goes to outPath.
func runOnce(ctx context.Context, k serverkind.Kind, in serverkind.Instance, outPath string) error {
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := k.Command(in)
	if env := in.Spec.GetEnv(); len(env) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(in.Port))
	tick := time.NewTicker(warmPoll)
	defer tick.Stop()
	for !greets(ctx, addr) {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(outPath)
			how := "exited"
			if err != nil {
				how = err.Error()
			}
			return fmt.Errorf("the server exited before it accepted a connection (%s); its output ends:\n%s", how, tail(b, 2000))
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return fmt.Errorf("no connection accepted on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	return nil
}

// greets reports whether a server at addr accepts a connection and sends
// its first bytes.
func greets(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(greetingTimeout)); err != nil {
		return false
	}
	var b [1]byte
	n, _ := c.Read(b[:])
	return n == 1
}

// tail is the end of b, at most n bytes.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
