package store

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
)

// Options configure a Store.
type Options struct {
	// FS is the file system; nil means the real one.
	FS fsys.FS
	// Faults are test-only durability bugs.
	Faults Faults
	// Logf logs operational messages; nil means log.Printf.
	Logf func(format string, args ...any)
	// FailStop is called when an fsync or journal write fails: the on-disk
	// state is unknown, so continuing could acknowledge lost data. The
	// default logs and exits the process. If FailStop returns, the store
	// refuses all further commits.
	FailStop func(err error)
	// LockWait bounds how long a transaction waits for the write lock
	// before failing with a retryable conflict. Zero means 10s.
	LockWait time.Duration
	// GCHook, if set, is called after each GC step; a non-nil error
	// aborts GC right there without any cleanup, which simulates a crash
	// at that point. Test-only.
	GCHook func(GCStep) error
	// AckDelay is how long AckBeforeFsync defers the fsync. Zero means 200ms.
	AckDelay time.Duration
	// CacheBytes bounds the memory of the chunk cache (chunks are read
	// from the journal on demand). Zero means DefaultCacheBytes.
	CacheBytes int64
}

// FailStopGrace is how long the default FailStop lets the process live
// after an I/O failure (no commit succeeds meanwhile) so that the client
// whose commit failed gets the error.
const FailStopGrace = time.Second

// DefaultCacheBytes is the default chunk cache budget.
const DefaultCacheBytes = 64 << 20

// chunkLoc is where a committed chunk's bytes are in the current journal.
type chunkLoc struct {
	off int64 // file offset of the record body
	n   uint32
}

// Head is a committed state.
type Head struct {
	Seq     uint64
	Root    chunk.Hash
	Catalog *Catalog
}

// Store is an open database directory.
type Store struct {
	dir  string
	fs   fsys.FS
	opts Options

	// writerSem is the single write lock (capacity 1).
	writerSem chan struct{}

	// commitMu serialises journal appends and file swaps (commit, GC,
	// background fsync, close).
	commitMu sync.Mutex
	jw       *journal.Writer
	man      manifest.Manifest
	broken   error

	// mu protects index, rf, head, txs and closed. Chunk reads hold it
	// (shared) across the pread so GC cannot swap the journal under them.
	mu     sync.RWMutex
	index  map[chunk.Hash]chunkLoc // every committed chunk in the current journal
	rf     fsys.File               // the current journal, read by Get
	head   Head
	txs    map[*Tx]struct{}
	closed bool

	cache *chunkCache

	syncStop chan struct{}
	syncDone chan struct{}
	dirty    bool // (commitMu) journal written but not fsynced (AckBeforeFsync)
	// zeroedTo is where the zero-filled, fsynced region the
	// WritebackNoFlush fault writes into ends (commitMu; 0: none yet).
	zeroedTo int64

	recovery RecoveryInfo
}

func journalName(gen uint64) string { return fmt.Sprintf("journal-%06d.crj", gen) }

func isJournalName(n string) bool {
	return strings.HasPrefix(n, "journal-") && strings.HasSuffix(n, ".crj")
}

// Open opens or creates the database in dir, running crash recovery.
func Open(dir string, opts Options) (*Store, error) {
	start := time.Now()
	if opts.FS == nil {
		opts.FS = fsys.OS{}
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	if opts.FailStop == nil {
		logf := opts.Logf
		opts.FailStop = func(err error) {
			// The store refuses every commit from now on, so waiting a
			// moment acknowledges nothing; it lets the failing commit's
			// client get its error (e.g. disk full) before the process goes.
			logf("FATAL: %v; stopping the process in %v because the durable state is unknown (fail-stop)", err, FailStopGrace)
			time.AfterFunc(FailStopGrace, func() { os.Exit(70) })
		}
	}
	if opts.LockWait == 0 {
		opts.LockWait = 10 * time.Second
	}
	if opts.AckDelay == 0 {
		opts.AckDelay = 200 * time.Millisecond
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	s := &Store{
		dir: dir, fs: opts.FS, opts: opts,
		writerSem: make(chan struct{}, 1),
		index:     map[chunk.Hash]chunkLoc{},
		txs:       map[*Tx]struct{}{},
		cache:     newChunkCache(opts.CacheBytes),
	}
	if err := s.fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	m, err := manifest.Read(s.fs, s.path(manifest.FileName))
	if errors.Is(err, manifest.ErrNotExist) {
		if err := s.checkNoJournals(); err != nil {
			return nil, err
		}
		if err := s.initialize(); err != nil {
			return nil, fmt.Errorf("initialise %s: %w", dir, err)
		}
		s.recovery.Created = true
		m, err = manifest.Read(s.fs, s.path(manifest.FileName))
	}
	if err != nil {
		return nil, err
	}
	s.man = m
	if err := s.recover(); err != nil {
		return nil, err
	}
	if err := s.removeStrayFiles(); err != nil {
		return nil, err
	}
	s.recovery.Duration = time.Since(start)
	if opts.Faults.AckBeforeFsync {
		s.syncStop = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.lateSyncer()
	}
	return s, nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// Get implements chunk.Getter over committed chunks: from the cache, or
// read from the journal and checked against its hash.
func (s *Store) Get(h chunk.Hash) ([]byte, error) { return s.read(h, true) }

// read returns a committed chunk. With cache unset it neither fills nor
// promotes cache entries (GC and checks that walk everything once would
// otherwise evict the working set).
func (s *Store) read(h chunk.Hash, cache bool) ([]byte, error) {
	if cache {
		if b, ok := s.cache.get(h); ok {
			return b, nil
		}
	}
	s.mu.RLock()
	loc, ok := s.index[h]
	if !ok {
		s.mu.RUnlock()
		return nil, chunk.NotFound(h)
	}
	b := make([]byte, loc.n)
	_, err := s.rf.ReadAt(b, loc.off)
	s.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("read chunk %s at offset %d of the journal: %w", h.Short(), loc.off, err)
	}
	// The journal's CRC was checked at recovery; the hash check here also
	// catches anything that changed on disk since.
	if chunk.Of(b) != h {
		return nil, fmt.Errorf("chunk %s at offset %d of the journal does not match its hash", h.Short(), loc.off)
	}
	if cache {
		s.cache.add(h, b)
	}
	return b, nil
}

// has reports whether h is a committed chunk, without reading it.
func (s *Store) has(h chunk.Hash) bool {
	s.mu.RLock()
	_, ok := s.index[h]
	s.mu.RUnlock()
	return ok
}

// Head returns the current committed state.
func (s *Store) Head() Head {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.head
}

// ChunkCount returns the number of committed chunks in the journal.
func (s *Store) ChunkCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.index)
}

// JournalName returns the current journal file name.
func (s *Store) JournalName() string {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.man.Journal
}

// Generation returns the manifest generation.
func (s *Store) Generation() uint64 {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.man.Generation
}

// Close waits for an in-flight commit, makes everything durable and
// closes the journal. Open transactions are abandoned.
func (s *Store) Close() error {
	if !s.markClosed() {
		return nil
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	var err error
	if s.broken == nil && !s.opts.Faults.SkipFsync {
		err = s.jw.Sync()
	}
	return errors.Join(err, s.jw.Close())
}

// Abandon closes the journal without syncing or any cleanup, the way a
// crash would leave it. Test-only.
func (s *Store) Abandon() {
	if !s.markClosed() {
		return
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	_ = s.jw.Close()
}

// markClosed refuses new transactions and commits from now on and stops
// the background syncer. It reports false if the store was closed already.
func (s *Store) markClosed() bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.closed = true
	s.mu.Unlock()
	if s.syncStop != nil {
		close(s.syncStop)
		<-s.syncDone
	}
	return true
}
