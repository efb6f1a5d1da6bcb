package vmimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	expect "github.com/Netflix/go-expect"
	"golang.org/x/term"

	"github.com/crashrig/crashrig/qemu"
)

// ConsoleStep is one exchange on the installer's serial console: wait for
// Expect (a regular expression) within Timeout, then type Send.
type ConsoleStep struct {
	Name    string // names the step in errors
	Expect  string // regular expression; empty means do not wait
	Timeout time.Duration
	Send    string // line typed after Expect matched; empty sends nothing
	// Done is logged after the step succeeded.
	Done string
	// Check inspects the console output that satisfied Expect.
	Check func(output string) error
}

// ErrStepTimeout is wrapped by the error of a console step whose expected
// output did not arrive before its deadline.
var ErrStepTimeout = errors.New("console step timed out")

// consoleTailLines is how much console output an error message shows.
const consoleTailLines = 15

// RunConsoleScript drives conn (the guest's serial console) through steps with
// go-expect. Every byte the guest prints is copied to transcript. logf gets one
// progress line per step. A step that times out fails with ErrStepTimeout and
// the last console lines.
func RunConsoleScript(ctx context.Context, conn io.ReadWriter, transcript io.Writer, logf func(string, ...any), steps []ConsoleStep) (err error) {
	tail := &tailBuffer{max: 8192}
	out := io.MultiWriter(transcript, tail)

	c, err := expect.NewConsole()
	if err != nil {
		return fmt.Errorf("console: open pty: %w", err)
	}
	// Raw mode: the pty must pass bytes through untouched (no local echo, no
	// line buffering), since the guest does its own echoing.
	if _, err := term.MakeRaw(int(c.Tty().Fd())); err != nil {
		c.Close()
		return fmt.Errorf("console: raw pty: %w", err)
	}

	// Guest output is written into the pty's slave, where Expect reads it
	// from the master. Input goes straight to the guest: a pump reading the
	// slave would block forever in read(2), which close(2) does not end.
	var pump sync.WaitGroup
	pump.Add(1)
	go func() {
		defer pump.Done()
		// The tail first: what Expect matched is then in the tail an
		// error quotes (the other order raced a failing step's report).
		io.Copy(io.MultiWriter(out, c.Tty()), conn)
	}()
	var closeOnce sync.Once
	closeAll := func() {
		closeOnce.Do(func() {
			c.Close()
			if cl, ok := conn.(io.Closer); ok {
				cl.Close()
			}
		})
	}
	defer func() {
		closeAll()
		pump.Wait()
	}()

	for _, step := range steps {
		if err := runStep(ctx, c, conn, step, closeAll); err != nil {
			return fmt.Errorf("console step %q: %w\nlast console output:\n%s", step.Name, err, tail.lastLines(consoleTailLines))
		}
		if step.Done != "" {
			logf("%s", step.Done)
		}
	}
	return nil
}

// defaultStepTimeout bounds a step that gives no Timeout of its own.
const defaultStepTimeout = 30 * time.Second

func runStep(ctx context.Context, c *expect.Console, guest io.Writer, step ConsoleStep, abort func()) error {
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = defaultStepTimeout
	}
	stepCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// go-expect's own timeout is per read (an idle timeout): a chatty
	// console could outlast it forever, and a write to a stuck guest has
	// none. The step deadline is enforced by closing the console and the
	// connection, which ends a pending Expect or write with an error.
	stop := context.AfterFunc(stepCtx, abort)
	defer stop()
	failed := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stepCtx.Err() != nil || isTimeout(err) {
			return fmt.Errorf("%w: %s not done within %s", ErrStepTimeout, what, timeout)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if step.Expect != "" {
		re, err := regexp.Compile(step.Expect)
		if err != nil {
			return fmt.Errorf("bad pattern %q: %w", step.Expect, err)
		}
		output, err := c.Expect(expect.Regexp(re), expect.WithTimeout(timeout))
		if err != nil || stepCtx.Err() != nil {
			return failed(fmt.Sprintf("waiting for %q", step.Expect), err)
		}
		if step.Check != nil {
			if err := step.Check(output); err != nil {
				return err
			}
		}
	}
	if step.Send != "" {
		// A carriage return is what a terminal's Enter key sends.
		if _, err := io.WriteString(guest, step.Send+"\r"); err != nil {
			return failed("sending input", err)
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns the final n lines, without carriage returns or ANSI
// escapes so that they read well in an error message.
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	s := qemu.StripANSI(string(t.buf))
	t.mu.Unlock()
	s = strings.ReplaceAll(s, "\r", "")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}
