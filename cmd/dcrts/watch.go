package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"sync"
	"time"
)

// lineWatcher follows the server's output (its stdout, stderr and log
// file): it keeps the last lines for a crash report and calls onMatch for
// every line that matches an error pattern.
type lineWatcher struct {
	patterns []*regexp.Regexp
	onMatch  func(line, pattern string)

	mu    sync.Mutex
	lines []string // ring of the last max lines
	next  int
	full  bool
}

func newLineWatcher(max int, patterns []*regexp.Regexp, onMatch func(line, pattern string)) *lineWatcher {
	return &lineWatcher{patterns: patterns, onMatch: onMatch, lines: make([]string, max)}
}

// source is a writer for one output stream; each has its own partial
// line, so interleaved writes of two streams do not mix within a line.
func (w *lineWatcher) source() io.Writer { return &lineSource{w: w} }

func (w *lineWatcher) line(s string) {
	s = truncateLine(s, maxEventString) // a tail of huge lines must stay small
	w.mu.Lock()
	w.lines[w.next] = s
	w.next = (w.next + 1) % len(w.lines)
	if w.next == 0 {
		w.full = true
	}
	w.mu.Unlock()
	for _, re := range w.patterns {
		if re.MatchString(s) {
			w.onMatch(s, re.String())
			return
		}
	}
}

// tail returns the last lines, oldest first.
func (w *lineWatcher) tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.full {
		return append([]string(nil), w.lines[:w.next]...)
	}
	return append(append([]string(nil), w.lines[w.next:]...), w.lines[:w.next]...)
}

type lineSource struct {
	w       *lineWatcher
	mu      sync.Mutex
	partial []byte
}

func (s *lineSource) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.w.line(string(bytes.TrimRight(s.partial[:i], "\r")))
		s.partial = s.partial[i+1:]
	}
	// A runaway line without newline must not grow without bound.
	if len(s.partial) > 64<<10 {
		s.w.line(string(s.partial))
		s.partial = nil
	}
	return len(p), nil
}

// fileTailer follows a log file by polling (the server may create,
// append to or truncate it at any time).
type fileTailer struct {
	path string
	off  int64
}

// skipExisting starts after what the file holds now: lines from before a
// reset were reported (or not) by the previous boot.
func (t *fileTailer) skipExisting() {
	if fi, err := os.Stat(t.path); err == nil {
		t.off = fi.Size()
	}
}

const tailInterval = 100 * time.Millisecond

// run polls until quit.
func (t *fileTailer) run(quit <-chan struct{}, w io.Writer) {
	tick := time.NewTicker(tailInterval)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
			t.poll(w)
		}
	}
}

// poll copies what was appended since the last poll to w.
func (t *fileTailer) poll(w io.Writer) {
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	if fi.Size() < t.off {
		t.off = 0 // truncated or replaced
	}
	if fi.Size() == t.off {
		return
	}
	n, _ := io.Copy(w, io.NewSectionReader(f, t.off, fi.Size()-t.off))
	t.off += n
}
