package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

const chunkSize = 1 << 20

// collect writes a tar stream of paths (files or directories, recursively)
// to send in chunks of up to 1 MiB. Missing paths are skipped: a
// post-mortem takes what there is.
func collect(ctx context.Context, paths []string, send func([]byte) error) error {
	cw := &chunkWriter{send: send}
	tw := tar.NewWriter(cw)
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			return addToTar(tw, path, d)
		})
		if err != nil {
			return fmt.Errorf("collect %s: %w", root, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return cw.flush()
}

func addToTar(tw *tar.Writer, path string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return nil // vanished meanwhile
	}
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return nil
		}
	case fi.Mode().IsRegular(), fi.IsDir():
	default:
		return nil // sockets, devices, pipes
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = strings.TrimPrefix(filepath.ToSlash(path), "/")
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Uname, h.Gname = "", ""
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// A live log grows while we read: copy exactly the size in the header,
	// padding with zeros if it shrank.
	n, err := io.CopyN(tw, f, h.Size)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if n < h.Size {
		_, err = io.CopyN(tw, zeroReader{}, h.Size-n)
	}
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// chunkWriter batches writes into chunks of chunkSize.
type chunkWriter struct {
	buf  bytes.Buffer
	send func([]byte) error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf.Write(p)
	for c.buf.Len() >= chunkSize {
		if err := c.send(c.buf.Next(chunkSize)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *chunkWriter) flush() error {
	if c.buf.Len() == 0 {
		return nil
	}
	return c.send(c.buf.Next(c.buf.Len()))
}

const maxExecOutput = 1 << 20

// Exec timing: defaultExecTimeout applies when the control plane sends
// none; execPipeGrace is how long output is still read after the command
// exited, for a background child that keeps its stdout open ("sleep 8 &").
const (
	defaultExecTimeout = time.Minute
	execPipeGrace      = 250 * time.Millisecond
)

// execCommand runs argv in its own process group with a timeout. The
// timeout kills the whole group, so a background child that holds the
// output pipe cannot keep the command (and its caller) waiting.
func execCommand(ctx context.Context, argv []string, timeout time.Duration) (*pb.ExecResult, error) {
	if len(argv) == 0 {
		return nil, errors.New("exec: empty argv")
	}
	if timeout <= 0 {
		timeout = defaultExecTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = execPipeGrace
	err := cmd.Run()
	res := &pb.ExecResult{Output: out.bytes()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("exec %s: killed after %s: %w", argv[0], timeout, ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// Exited 0; a background child kept the output open.
	case errors.As(err, &ee):
		res.ExitCode = int32(ee.ExitCode())
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int32(ws.Signal())
		}
	default:
		return res, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return res, nil
}

// limitedBuffer keeps the first maxExecOutput bytes. It is written by the
// copying goroutines and read after Wait, which may return (WaitDelay)
// while a copy is still running: hence the lock.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxExecOutput - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
