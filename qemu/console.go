package qemu

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ConsoleLog writes a VM's serial console to a file, each line prefixed
// with the host time since the log was opened (QEMU's start): boot
// timelines read straight off it.
type ConsoleLog struct {
	path  string
	start time.Time
	mu    sync.Mutex
	f     *os.File
	copy  io.Writer
	bol   bool // at the beginning of a line
}

// NewConsoleLog creates the log at path; copy, if not nil, gets the raw
// console output too.
func NewConsoleLog(path string, copy io.Writer) (*ConsoleLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("console log: %w", err)
	}
	return &ConsoleLog{path: path, start: time.Now(), f: f, copy: copy, bol: true}, nil
}

// AppendConsoleLog is NewConsoleLog on an existing log: a machine that
// reboots a VM after a power cut continues its predecessor's log.
func AppendConsoleLog(path string, copy io.Writer) (*ConsoleLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("console log: %w", err)
	}
	return &ConsoleLog{path: path, start: time.Now(), f: f, copy: copy, bol: true}, nil
}

// Path is the log file.
func (c *ConsoleLog) Path() string { return c.path }

func (c *ConsoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.copy != nil {
		_, _ = c.copy.Write(p)
	}
	var b bytes.Buffer
	for len(p) > 0 {
		if c.bol {
			fmt.Fprintf(&b, "[%8.3f] ", time.Since(c.start).Seconds())
			c.bol = false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			b.Write(p)
			break
		}
		b.Write(p[:i+1])
		p = p[i+1:]
		c.bol = true
	}
	if c.f != nil {
		_, _ = c.f.Write(b.Bytes())
	}
	return n, nil
}

// Mark writes a host-side line into the log (e.g. "reset sent").
func (c *ConsoleLog) Mark(s string) {
	c.mu.Lock()
	prefix := ""
	if !c.bol {
		prefix = "\n"
	}
	c.bol = true
	c.mu.Unlock()
	_, _ = c.Write([]byte(prefix + s + "\n"))
}

// Close closes the file; later writes are dropped.
func (c *ConsoleLog) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

// ReadConsole returns a console log as text: carriage returns and
// terminal escape sequences removed ("" if it cannot be read).
func ReadConsole(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return StripANSI(strings.ReplaceAll(string(b), "\r", ""))
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]`)

// StripANSI removes terminal escape sequences from console output.
func StripANSI(s string) string { return ansiEscape.ReplaceAllString(s, "") }
