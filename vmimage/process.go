package vmimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// QEMUBinary is the emulator for x86_64 guests.
const QEMUBinary = "qemu-system-x86_64"

// Process is a running QEMU. It dies with its context, with Kill, and with
// the Go process that started it (PDEATHSIG), so no VM outlives its owner.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartQEMU starts m. QEMU's own stdout and stderr go to out.
func StartQEMU(ctx context.Context, m Machine, out io.Writer) (*Process, error) {
	args, err := m.Args()
	if err != nil {
		return nil, err
	}
	bin := m.Binary
	if bin == "" {
		bin = QEMUBinary
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// CommandLine is the full command, for logs and repro.
func (p *Process) CommandLine() string { return strings.Join(p.cmd.Args, " ") }

// Pid is QEMU's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when QEMU has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for QEMU to exit on its own (e.g. the guest powered off).
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.exitErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Process) exitErr() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.Exited() && ee.ExitCode() == 0 {
		return nil
	}
	return p.err
}

// Kill stops QEMU at once and waits for it to be gone. Safe to call twice
// and after QEMU exited.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(os.Kill)
	<-p.done
}
