package vmimage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGuest plays a Debian serial console: a login prompt, a password
// prompt and a shell that understands the installer's few commands. It echoes
// what it is sent, as a real tty does.
type fakeGuest struct {
	password  string
	installRC int
	// stopAfter, when set, makes the guest go silent after printing it.
	stopAfter string
}

func (g fakeGuest) serve(t *testing.T, conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(s string) bool {
		_, err := conn.Write([]byte(s))
		if g.stopAfter != "" && strings.Contains(s, g.stopAfter) {
			// A hung guest: it takes input but never answers.
			io.Copy(io.Discard, r)
			return false
		}
		return err == nil
	}
	line := func() (string, bool) {
		s, err := r.ReadString('\r')
		if err != nil {
			return "", false
		}
		s = strings.TrimSuffix(s, "\r")
		return s, true
	}
	say("[    1.0] booting\r\nDebian GNU/Linux 12 crashrig ttyS0\r\n\r\ncrashrig login: ")
	user, ok := line()
	if !ok || !say(user+"\r\nPassword: ") {
		return
	}
	pw, ok := line()
	if !ok {
		return
	}
	if user != "root" || pw != g.password {
		say("\r\nLogin incorrect\r\ncrashrig login: ")
		return
	}
	say("\r\nLinux crashrig 6.1.0\r\n\x1b[?2004hroot@crashrig:~# ")
	for {
		cmd, ok := line()
		if !ok {
			return
		}
		out := cmd + "\r\n" // echo
		switch {
		case strings.HasPrefix(cmd, "echo crashrig-shell-"):
			out += "crashrig-shell-42\r\n"
		case strings.HasPrefix(cmd, "mount "):
			out += "crashrig-mounted-2\r\n"
		case strings.HasPrefix(cmd, "sh /mnt/install.sh"):
			if g.installRC == 0 {
				out += "crashrig-install-success\r\n"
			} else {
				out += "install.sh: line 9: usermod: not found\r\n"
			}
			out += fmt.Sprintf("crashrig-install-rc=%d\r\n", g.installRC)
		case strings.Contains(cmd, "poweroff"):
			say(out + "The system is going down NOW!\r\n[    7.8] reboot: Power down\r\n")
			return
		}
		if !say(out + "root@crashrig:~# ") {
			return
		}
	}
}

func runFake(t *testing.T, g fakeGuest, steps []ConsoleStep) (error, []string, string) {
	t.Helper()
	host, guest := net.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.serve(t, guest)
	}()
	t.Cleanup(func() {
		guest.Close()
		wg.Wait()
	})
	var mu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(f, a...))
	}
	var transcript bytes.Buffer
	var tmu sync.Mutex
	err := RunConsoleScript(context.Background(), host, writerFunc(func(p []byte) (int, error) {
		tmu.Lock()
		defer tmu.Unlock()
		return transcript.Write(p)
	}), logf, steps)
	guest.Close()
	tmu.Lock()
	defer tmu.Unlock()
	return err, logs, transcript.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestInstallerScriptAgainstFakeConsole(t *testing.T) {
	err, logs, transcript := runFake(t, fakeGuest{password: "pw"}, InstallerSteps("pw"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"saw login prompt. Logging in.",
		"Logged in. Mounting floppy",
		"Mounted storage. Running install.sh.",
		"installer run successfully",
		"installer VM powered off",
	}, logs)
	assert.Contains(t, transcript, "crashrig-install-success", "the transcript keeps the guest's output")
	assert.Contains(t, transcript, "reboot: Power down")
}

func TestInstallerScriptFailsWhenInstallShFails(t *testing.T) {
	err, logs, _ := runFake(t, fakeGuest{password: "pw", installRC: 1}, InstallerSteps("pw"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `console step "install.sh"`)
	assert.Contains(t, err.Error(), "usermod: not found", "the error shows the last console lines")
	assert.NotContains(t, logs, "installer run successfully")
}

func TestConsoleStepTimeoutNamesStepAndShowsOutput(t *testing.T) {
	steps := InstallerSteps("pw")
	for i := range steps {
		steps[i].Timeout = 300 * time.Millisecond
	}
	start := time.Now()
	// The guest prints its password prompt and then hangs.
	err, _, _ := runFake(t, fakeGuest{password: "pw", stopAfter: "Password: "}, steps)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrStepTimeout), "got %v", err)
	assert.Contains(t, err.Error(), `console step "shell prompt"`)
	assert.Contains(t, err.Error(), "| Password:", "the error shows the last console lines")
	assert.Less(t, time.Since(start), 5*time.Second, "the step deadline bounds the wait")
}

func TestConsoleStepDeadlineHoldsAgainstChattyConsole(t *testing.T) {
	// go-expect's own timeout is an idle timeout; a console that never stops
	// talking must still hit the step deadline.
	host, guest := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := guest.Write([]byte("noise\r\n")); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { guest.Close(); <-done }()
	start := time.Now()
	err := RunConsoleScript(context.Background(), host, &bytes.Buffer{}, func(string, ...any) {},
		[]ConsoleStep{{Name: "never", Expect: "login: $", Timeout: 400 * time.Millisecond}})
	require.ErrorIs(t, err, ErrStepTimeout)
	// Far below a console that never stops talking (the test's own
	// timeout), far above a busy host's delay.
	assert.Less(t, time.Since(start), 20*time.Second)
}
