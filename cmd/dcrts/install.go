package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"regexp"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// installedPath is where build NAME VERSION lives.
func installedPath(root, name, version string) string {
	return filepath.Join(root, name, version, name)
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// installer receives InstallServer chunks. One upload at a time: chunks of
// a command arrive in order on one stream.
type installer struct {
	root string
	cur  *upload
}

type upload struct {
	id            string
	name, version string
	f             *os.File
	h             hash.Hash
	off           int64
	failed        bool
}

// chunk takes one chunk of command id. done is true when the command is
// answered: after the last chunk, or at the first error (later chunks of a
// failed upload are ignored).
func (in *installer) chunk(id string, c *pb.InstallServer) (res *pb.InstallResult, done bool, err error) {
	if in.cur != nil && in.cur.id != id {
		in.abort() // a new upload replaces an unfinished one
	}
	if in.cur == nil {
		if in.cur, err = in.begin(id, c); err != nil {
			in.cur = &upload{id: id, failed: true}
			return nil, true, err
		}
	}
	u := in.cur
	if u.failed {
		return nil, c.GetLast(), nil
	}
	fail := func(err error) (*pb.InstallResult, bool, error) {
		u.f.Close()
		os.Remove(u.f.Name())
		u.failed = true
		if c.GetLast() {
			in.cur = nil
		}
		return nil, true, fmt.Errorf("install %s %s: %w", u.name, u.version, err)
	}
	if c.GetName() != u.name || c.GetVersion() != u.version {
		return fail(errors.New("chunk names another build"))
	}
	if c.GetOffset() != u.off {
		return fail(fmt.Errorf("chunk at offset %d, expected %d", c.GetOffset(), u.off))
	}
	if _, err := u.f.Write(c.GetData()); err != nil {
		return fail(err)
	}
	u.h.Write(c.GetData())
	u.off += int64(len(c.GetData()))
	if !c.GetLast() {
		return nil, false, nil
	}
	in.cur = nil
	sum := hex.EncodeToString(u.h.Sum(nil))
	if c.GetSha256() != sum {
		return fail(fmt.Errorf("sha256 mismatch: got %s, sender says %q", sum, c.GetSha256()))
	}
	if err := u.f.Chmod(0o755); err != nil {
		return fail(err)
	}
	if err := u.f.Sync(); err != nil {
		return fail(err)
	}
	if err := u.f.Close(); err != nil {
		return fail(err)
	}
	dst := installedPath(in.root, u.name, u.version)
	if err := os.Rename(u.f.Name(), dst); err != nil {
		return fail(err)
	}
	if err := serverkind.SyncDir(filepath.Dir(dst)); err != nil {
		return nil, true, err
	}
	return &pb.InstallResult{Path: dst, Sha256: sum, Size: u.off}, true, nil
}

func (in *installer) begin(id string, c *pb.InstallServer) (*upload, error) {
	if !safeName.MatchString(c.GetName()) || !safeName.MatchString(c.GetVersion()) {
		return nil, fmt.Errorf("install: bad name %q or version %q", c.GetName(), c.GetVersion())
	}
	if c.GetOffset() != 0 {
		return nil, fmt.Errorf("install %s %s: first chunk at offset %d", c.GetName(), c.GetVersion(), c.GetOffset())
	}
	dir := filepath.Dir(installedPath(in.root, c.GetName(), c.GetVersion()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	return &upload{id: id, name: c.GetName(), version: c.GetVersion(), f: f, h: sha256.New()}, nil
}

// abort drops an unfinished upload (its stream broke).
func (in *installer) abort() {
	if in.cur != nil && !in.cur.failed && in.cur.f != nil {
		in.cur.f.Close()
		os.Remove(in.cur.f.Name())
	}
	in.cur = nil
}
