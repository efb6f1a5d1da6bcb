package fsys

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// File is the subset of *os.File the store uses.
type File interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Size() (int64, error)
	Close() error
}

// FS is the subset of the OS file system the store uses. Paths are joined
// by the caller.
type FS interface {
	// OpenFile opens or creates a file (flags as in os.OpenFile).
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	ReadFile(name string) ([]byte, error)
	Rename(oldName, newName string) error
	Remove(name string) error
	// SyncDir fsyncs a directory so that renames/creates/removes in it are durable.
	SyncDir(dir string) error
	ReadDir(dir string) ([]string, error)
	MkdirAll(dir string) error
}

// OS is the real file system.
type OS struct{}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// OpenFile implements FS.
func (OS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// ReadFile implements FS.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Rename implements FS.
func (OS) Rename(o, n string) error { return os.Rename(o, n) }

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Permissions of everything the store creates: the journals hold the grant
// tables (password hashes) and all data, so only the owner may read them.
const (
	FilePerm os.FileMode = 0o600
	DirPerm  os.FileMode = 0o700
)

// MkdirAll implements FS. An existing directory is made private too (the
// operator may have created it with the umask's 0755).
func (OS) MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return err
	}
	return os.Chmod(dir, DirPerm)
}

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// Counting wraps an FS and counts durability-relevant operations per file
// base name. It exists for tests (fsync-count assertions) and costs a mutex
// per operation.
type Counting struct {
	Inner FS

	mu      sync.Mutex
	syncs   map[string]int
	opens   map[string]int // opens with O_CREATE|O_TRUNC or O_WRONLY
	renames map[string]int // keyed by destination base name
	dirSync int
	// writeOuts counts WriteOut calls (write-back without a cache flush).
	writeOuts map[string]int
	// FailSync, if set, is consulted before each file sync; a non-nil
	// result is returned instead of syncing.
	FailSync func(name string) error
	// FailWrite, if set, is consulted before each positional write; a
	// non-nil result is returned instead of writing (e.g. ENOSPC).
	FailWrite func(name string) error
}

// NewCounting returns a Counting FS over inner.
func NewCounting(inner FS) *Counting {
	return &Counting{Inner: inner, syncs: map[string]int{}, opens: map[string]int{}, renames: map[string]int{}, writeOuts: map[string]int{}}
}

// Syncs returns how many times files whose base name has the given prefix
// were fsynced.
func (c *Counting) Syncs(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sumPrefix(c.syncs, prefix)
}

// WriteOuts returns how many times files whose base name has the given
// prefix were written out with WriteOut (no cache flush).
func (c *Counting) WriteOuts(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sumPrefix(c.writeOuts, prefix)
}

// Writes returns how many times files with the prefix were opened for
// writing or renamed into place.
func (c *Counting) Writes(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sumPrefix(c.opens, prefix) + sumPrefix(c.renames, prefix)
}

// sumPrefix adds up the counts of the names with the prefix.
func sumPrefix(counts map[string]int, prefix string) int {
	n := 0
	for k, v := range counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// DirSyncs returns how many directory fsyncs happened.
func (c *Counting) DirSyncs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirSync
}

type countingFile struct {
	File
	name string
	c    *Counting
}

func (f countingFile) Sync() error {
	f.c.mu.Lock()
	fail := f.c.FailSync
	f.c.syncs[f.name]++
	f.c.mu.Unlock()
	if fail != nil {
		if err := fail(f.name); err != nil {
			return err
		}
	}
	return f.File.Sync()
}

// WriteOut counts the call and writes the inner file out.
func (f countingFile) WriteOut() error {
	f.c.mu.Lock()
	f.c.writeOuts[f.name]++
	f.c.mu.Unlock()
	return WriteOut(f.File)
}

// SetFailSync sets FailSync while files may be in use.
func (c *Counting) SetFailSync(fn func(name string) error) {
	c.mu.Lock()
	c.FailSync = fn
	c.mu.Unlock()
}

// SetFailWrite sets FailWrite while files may be in use.
func (c *Counting) SetFailWrite(fn func(name string) error) {
	c.mu.Lock()
	c.FailWrite = fn
	c.mu.Unlock()
}

func (f countingFile) WriteAt(p []byte, off int64) (int, error) {
	f.c.mu.Lock()
	fail := f.c.FailWrite
	f.c.mu.Unlock()
	if fail != nil {
		if err := fail(f.name); err != nil {
			return 0, err
		}
	}
	return f.File.WriteAt(p, off)
}

// OpenFile implements FS.
func (c *Counting) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := c.Inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(name)
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 && flag&(os.O_TRUNC) != 0 {
		c.mu.Lock()
		c.opens[base]++
		c.mu.Unlock()
	}
	return countingFile{File: f, name: base, c: c}, nil
}

// ReadFile implements FS.
func (c *Counting) ReadFile(name string) ([]byte, error) { return c.Inner.ReadFile(name) }

// Rename implements FS.
func (c *Counting) Rename(o, n string) error {
	c.mu.Lock()
	c.renames[filepath.Base(n)]++
	c.mu.Unlock()
	return c.Inner.Rename(o, n)
}

// Remove implements FS.
func (c *Counting) Remove(name string) error { return c.Inner.Remove(name) }

// MkdirAll implements FS.
func (c *Counting) MkdirAll(dir string) error { return c.Inner.MkdirAll(dir) }

// ReadDir implements FS.
func (c *Counting) ReadDir(dir string) ([]string, error) { return c.Inner.ReadDir(dir) }

// SyncDir implements FS.
func (c *Counting) SyncDir(dir string) error {
	c.mu.Lock()
	c.dirSync++
	c.mu.Unlock()
	return c.Inner.SyncDir(dir)
}

// WriteFileAtomic writes data to name durably and atomically: write a temp
// file, fsync it, rename it over name, fsync the directory. After it
// returns nil, a crash leaves either the old or the new content, never a
// mix, and the new content survives.
func WriteFileAtomic(fs FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FilePerm)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if err := fs.SyncDir(filepath.Dir(name)); err != nil {
		return fmt.Errorf("fsync dir of %s: %w", name, err)
	}
	return nil
}

// AdviseSequential tells the kernel that the first size bytes of f will be
// read front to back (posix_fadvise SEQUENTIAL: a larger readahead
// window), so a cold read runs nearer the disk's speed. WILLNEED is not
// used: it would pull the whole journal into the page cache at once, which
// a small VM cannot hold. It is only advice: files that are not OS files,
// and errors, are ignored.
func AdviseSequential(f File, size int64) {
	of, ok := f.(osFile)
	if !ok {
		return
	}
	fd := int(of.Fd())
	_ = unix.Fadvise(fd, 0, size, unix.FADV_SEQUENTIAL)
}

// WriteOut asks the kernel to write f's dirty pages to the device and
// waits until it has (sync_file_range with WAIT_BEFORE|WRITE|WAIT_AFTER).
// Unlike Sync it sends no cache flush, and writes no metadata: the data
// survives a process or kernel crash but not the loss of the disk's
// volatile write cache. Only the writeback-no-flush planted fault uses it.
// A File that wraps another exposes it with Unwrap() File.
func WriteOut(f File) error {
	switch x := f.(type) {
	case interface{ WriteOut() error }:
		return x.WriteOut()
	case osFile:
		const flags = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		if err := unix.SyncFileRange(int(x.Fd()), 0, 0, flags); err != nil {
			return fmt.Errorf("sync_file_range %s: %w", x.Name(), err)
		}
		return nil
	case interface{ Unwrap() File }:
		return WriteOut(x.Unwrap())
	}
	return fmt.Errorf("write-out: %T is not an OS file", f)
}
