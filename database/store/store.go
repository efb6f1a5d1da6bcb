// Package store is the storage engine: a catalog of databases and tables
// kept as copy-on-write trees of content-addressed chunks, persisted in an
// append-only journal, with single-writer transactions and GC.
//
// Durability protocol (see database/README.md): a commit appends its new
// chunks (children before parents), then a root record, then fsyncs the
// journal once; only then does Commit return, so an acknowledged commit
// survives any crash. Recovery opens at the last valid root record.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Faults plant known classes of durability bugs. They exist only so that
// the crash harness can prove it detects them; every one of them makes the
// store unsafe. All are off by default.
type Faults struct {
	// AckBeforeFsync returns from commit before the journal is fsynced;
	// a background goroutine fsyncs later.
	AckBeforeFsync bool
	// SkipFsync never fsyncs the journal on commit.
	SkipFsync bool
	// ManifestInPlace writes the manifest by truncating and rewriting it
	// in place, without temp file, rename or fsync.
	ManifestInPlace bool
	// GCEarlyDelete removes the old journal before the new manifest is
	// durable.
	GCEarlyDelete bool
	// AcceptTornTail makes recovery skip CRC checks, zero-pad torn
	// records and keep the tail instead of truncating it.
	AcceptTornTail bool
}

// Any reports whether any fault is enabled.
func (f Faults) Any() bool {
	return f.AckBeforeFsync || f.SkipFsync || f.ManifestInPlace || f.GCEarlyDelete || f.AcceptTornTail
}

// Names returns the enabled faults' names.
func (f Faults) Names() []string {
	var n []string
	if f.AckBeforeFsync {
		n = append(n, "ack-before-fsync")
	}
	if f.SkipFsync {
		n = append(n, "skip-fsync")
	}
	if f.ManifestInPlace {
		n = append(n, "manifest-in-place")
	}
	if f.GCEarlyDelete {
		n = append(n, "gc-early-delete")
	}
	if f.AcceptTornTail {
		n = append(n, "accept-torn-tail")
	}
	return n
}

// FaultNames lists every fault switch name.
var FaultNames = []string{"ack-before-fsync", "skip-fsync", "manifest-in-place", "gc-early-delete", "accept-torn-tail"}

// Set enables the named fault.
func (f *Faults) Set(name string) error {
	switch name {
	case "ack-before-fsync":
		f.AckBeforeFsync = true
	case "skip-fsync":
		f.SkipFsync = true
	case "manifest-in-place":
		f.ManifestInPlace = true
	case "gc-early-delete":
		f.GCEarlyDelete = true
	case "accept-torn-tail":
		f.AcceptTornTail = true
	default:
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames, ", "))
	}
	return nil
}

// GCStep names a point inside GC, for crash simulation hooks.
type GCStep string

// GC steps, in order (GCEarlyDelete swaps the last two).
const (
	GCJournalWritten  GCStep = "new-journal-durable"
	GCManifestSwapped GCStep = "manifest-swapped"
	GCOldRemoved      GCStep = "old-journal-removed"
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

	recovery RecoveryInfo
}

// RecoveryInfo describes what Open found.
type RecoveryInfo struct {
	Root       chunk.Hash
	Seq        uint64
	Generation uint64
	Journal    string
	Chunks     int
	TornBytes  int64 // bytes discarded after the last valid root record
	StopReason string
	Duration   time.Duration
	Created    bool // the directory was freshly initialised
}

// Recovery returns what Open found.
func (s *Store) Recovery() RecoveryInfo { return s.recovery }

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

func (s *Store) writeManifest(m manifest.Manifest) error {
	if s.opts.Faults.ManifestInPlace {
		return manifest.WriteInPlace(s.fs, s.path(manifest.FileName), m)
	}
	return manifest.Write(s.fs, s.path(manifest.FileName), m)
}

// CorruptJournalError means a journal has an invalid record with valid
// records after it: damage inside data that was once complete, which a
// crash cannot produce (a torn write is only ever at the end). Open
// refuses rather than cut off what follows; see Revive.
type CorruptJournalError struct {
	Dir, Journal    string
	Offset          int64  // where the first invalid record starts
	Reason          string // why it is invalid
	ValidAfter      int    // valid records after it
	RootsAfter      int    // of which root records (commits)
	FirstValidAfter int64  // offset of the first of them
	GoodSeq         uint64 // sequence of the last commit before the damage
	GoodEnd         int64  // offset just past that commit's root record
	Size            int64  // journal size
}

func (e *CorruptJournalError) Error() string {
	return fmt.Sprintf("journal %s in %s is corrupt at offset %d (%s) and %d valid records (%d commits) follow it, the first at offset %d; "+
		"this is not a torn tail, so refusing to start without changing anything. "+
		"`crashrig-sqlserver fsck -data-dir %s` reports; `fsck -revive-with-data-loss` keeps the %d commits before the damage and discards the last %d bytes",
		e.Journal, e.Dir, e.Offset, e.Reason, e.ValidAfter, e.RootsAfter, e.FirstValidAfter, e.Dir, e.GoodSeq, e.Size-e.GoodEnd)
}

// ErrJournalsWithoutManifest means the data directory has journal files
// but no manifest: the manifest was lost or removed. Initialising a new
// database there would delete the data, so Open refuses.
var ErrJournalsWithoutManifest = errors.New("journal files without a MANIFEST")

// initialJournal returns the exact bytes initialize writes: the header,
// the empty catalog's chunks and the first root record. It is
// deterministic (chunks are content-addressed).
func initialJournal() []byte {
	mp := mapPutter{}
	root := encodeCatalog(mp, &Catalog{DBs: map[string]*Database{}})
	buf := append([]byte{}, journal.Magic[:]...)
	_, chunks := postOrder(mp, root)
	for _, c := range chunks {
		buf = journal.AppendRecord(buf, journal.KindChunk, c)
	}
	return journal.AppendRecord(buf, journal.KindRoot, journal.RootBody(root, 1))
}

// isInterruptedInit reports whether data can only be what an interrupted
// initialize left: no longer than the initial journal, and every byte
// either that journal's byte or zero (a crash can leave unwritten blocks
// zero-filled). Such a file holds no commit of anyone.
func isInterruptedInit(data []byte) bool {
	init := initialJournal()
	if len(data) > len(init) {
		return false
	}
	for i, b := range data {
		if b != 0 && b != init[i] {
			return false
		}
	}
	return true
}

// isInterruptedInitFile is isInterruptedInit for a file, reading it only
// if it is small enough to qualify.
func (s *Store) isInterruptedInitFile(p string) (bool, error) {
	f, err := s.fs.OpenFile(p, os.O_RDONLY, 0)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", p, err)
	}
	if size > int64(len(initialJournal())) {
		return false, nil
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	return isInterruptedInit(data), nil
}

// checkNoJournals runs when there is no manifest: it refuses to go on if
// the directory holds any journal other than one left by an interrupted
// initialisation, because initialize would delete it.
func (s *Store) checkNoJournals() error {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list data dir %s: %w", s.dir, err)
	}
	var found []string
	for _, n := range names {
		if !isJournalName(n) {
			continue
		}
		if n == journalName(1) {
			leftover, err := s.isInterruptedInitFile(s.path(n))
			if err != nil {
				return err
			}
			if leftover {
				continue
			}
		}
		found = append(found, n)
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: data directory %s has no %s but holds %s; refusing to initialise a new database over them "+
			"(restore the MANIFEST, or run `crashrig-sqlserver fsck -data-dir %s` to see what the journals hold)",
			ErrJournalsWithoutManifest, s.dir, manifest.FileName, strings.Join(found, ", "), s.dir)
	}
	return nil
}

// initialize creates generation 1: a journal whose first root record (an
// empty catalog) is durable before the manifest that names it exists.
// Until the manifest rename is durable the directory counts as empty, so
// a crash at any point re-runs initialisation instead of opening a
// journal without a root.
func (s *Store) initialize() error {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if isJournalName(n) || n == manifest.FileName+".tmp" {
			if err := s.fs.Remove(s.path(n)); err != nil {
				return fmt.Errorf("remove stale %s: %w", n, err)
			}
		}
	}
	name := journalName(1)
	f, err := s.fs.OpenFile(s.path(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, fsys.FilePerm)
	if err != nil {
		return fmt.Errorf("create journal: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(initialJournal()); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync journal: %w", err)
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	return s.writeManifest(manifest.Manifest{Journal: name, Generation: 1, Format: manifest.FormatVersion})
}

type mapPutter map[chunk.Hash][]byte

func (m mapPutter) Put(b []byte) chunk.Hash { h := chunk.Of(b); m[h] = b; return h }
func (m mapPutter) Get(h chunk.Hash) ([]byte, error) {
	if b, ok := m[h]; ok {
		return b, nil
	}
	return nil, chunk.NotFound(h)
}

// postOrder lists the chunks reachable from root that g holds, with their
// bytes, children before parents; chunks g does not hold are skipped (with
// their subtrees).
func postOrder(g chunk.Getter, roots ...chunk.Hash) (hashes []chunk.Hash, data [][]byte) {
	seen := map[chunk.Hash]bool{}
	var visit func(h chunk.Hash)
	visit = func(h chunk.Hash) {
		if h.IsZero() || seen[h] {
			return
		}
		seen[h] = true
		b, err := g.Get(h)
		if err != nil {
			return
		}
		refs, _ := chunk.Refs(b)
		for _, r := range refs {
			visit(r)
		}
		hashes, data = append(hashes, h), append(data, b)
	}
	for _, r := range roots {
		visit(r)
	}
	return hashes, data
}

// recover scans the manifest's journal, indexes every chunk up to the last
// valid root record and truncates anything after it. Chunks stay on disk;
// only their locations are kept (Get reads them on demand).
func (s *Store) recover() error {
	name := s.man.Journal
	p := s.path(name)
	f, err := s.fs.OpenFile(p, os.O_RDWR, fsys.FilePerm)
	if err != nil {
		return fmt.Errorf("open journal %s named by manifest (generation %d): %w", name, s.man.Generation, err)
	}
	if err := s.recoverFrom(f, name); err != nil {
		_ = f.Close()
		return err
	}
	return nil
}

func (s *Store) recoverFrom(f fsys.File, name string) error {
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("stat journal %s: %w", name, err)
	}
	// Recovery reads the whole journal once, front to back; after a
	// machine crash none of it is cached, so ask for aggressive readahead.
	fsys.AdviseSequential(f, size)
	sc, err := indexJournal(f, size, s.opts.Faults.AcceptTornTail)
	if err != nil {
		return fmt.Errorf("scan journal %s: %w", name, err)
	}
	res, index, root, seq, rootEnd := sc.res, sc.index, sc.root, sc.seq, sc.rootEnd
	if res.ValidAfter > 0 {
		// Never truncate this: the records after the damage may be
		// acknowledged commits, and only an operator may give them up.
		return &CorruptJournalError{
			Dir: s.dir, Journal: name, Offset: res.ValidEnd, Reason: res.StopReason,
			ValidAfter: res.ValidAfter, RootsAfter: res.RootsAfter, FirstValidAfter: res.FirstValidAfter,
			GoodSeq: seq, GoodEnd: rootEnd, Size: res.Size,
		}
	}
	if !sc.haveRoot {
		return fmt.Errorf("journal %s has no valid root record (%s); refusing to open", name, res.StopReason)
	}
	s.index, s.rf = index, f
	var cat *Catalog
	if root.IsZero() && s.opts.Faults.AcceptTornTail {
		// Planted bug: an all-zero root (e.g. a torn root record whose
		// payload never reached the disk) is taken as an empty database.
		cat = &Catalog{DBs: map[string]*Database{}}
	} else {
		cat, err = decodeCatalog(s, root)
		if err != nil {
			return fmt.Errorf("journal %s: root %s at seq %d: %w", name, root.Short(), seq, err)
		}
		// Every chunk the root reaches must be present: children are always
		// written before the root record that references them, so a gap
		// means the journal is damaged, and opening would serve wrong data.
		// Only a chunk with a dangling reference can lead to a gap; if
		// there is one, walk the graph to see whether the root reaches it.
		if sc.dangling > 0 {
			if missing := s.missingChunks(root); missing > 0 {
				return fmt.Errorf("journal %s: root %s at seq %d references %d missing chunks; refusing to open", name, root.Short(), seq, missing)
			}
		}
	}
	s.head = Head{Seq: seq, Root: root, Catalog: cat}
	s.recovery = RecoveryInfo{
		Created: s.recovery.Created,
		Root:    root, Seq: seq, Generation: s.man.Generation, Journal: name,
		Chunks: len(index), TornBytes: res.Size - rootEnd, StopReason: res.StopReason,
	}
	end := res.Size
	if !s.opts.Faults.AcceptTornTail && res.Size > rootEnd {
		// Never append after garbage: cut the torn tail (and any chunk
		// records of a commit whose root record never made it), and make
		// the cut durable before new records go after it.
		if err := f.Truncate(rootEnd); err != nil {
			return fmt.Errorf("truncate torn tail of %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s after truncation: %w", name, err)
		}
		end = rootEnd
	}
	s.jw = journal.NewWriter(&appendFile{File: f, off: end}, name, end)
	return nil
}

// missingChunks counts chunks reachable from root that are not in the
// journal (or cannot be read back intact).
func (s *Store) missingChunks(root chunk.Hash) int {
	seen := map[chunk.Hash]bool{}
	stack := []chunk.Hash{root}
	missing := 0
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h.IsZero() || seen[h] {
			continue
		}
		seen[h] = true
		data, err := s.read(h, false)
		if err != nil {
			missing++
			continue
		}
		refs, err := chunk.Refs(data)
		if err != nil {
			missing++
			continue
		}
		stack = append(stack, refs...)
	}
	return missing
}

// appendFile turns positional writes into appends at a tracked offset, so
// the journal never depends on O_APPEND semantics after a truncate.
type appendFile struct {
	fsys.File
	off int64
}

func (a *appendFile) Write(p []byte) (int, error) {
	n, err := a.File.WriteAt(p, a.off)
	a.off += int64(n)
	return n, err
}

// removeStrayFiles deletes journals other than the manifest's (left by a
// GC interrupted before or after its manifest swap) and temp manifests.
func (s *Store) removeStrayFiles() error {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return err
	}
	removed := false
	for _, n := range names {
		if (isJournalName(n) && n != s.man.Journal) || n == manifest.FileName+".tmp" {
			if err := s.fs.Remove(s.path(n)); err != nil {
				return fmt.Errorf("remove stray %s: %w", n, err)
			}
			s.opts.Logf("removed stray file %s", n)
			removed = true
		}
	}
	if removed {
		return s.fs.SyncDir(s.dir)
	}
	return nil
}

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

func (s *Store) failStop(err error) error {
	s.broken = err
	s.opts.FailStop(err)
	return err
}

// commit makes newChunks (children before parents) and root durable and
// publishes cat as the new head. Caller holds the write lock.
// commit makes newChunks (children before parents; hashes[i] is the hash
// of newChunks[i]) and root durable and publishes them as the new head.
func (s *Store) commit(hashes []chunk.Hash, newChunks [][]byte, root chunk.Hash, cat *Catalog) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.broken != nil {
		return fmt.Errorf("%w: %w", ErrStopped, s.broken)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	// Refuse before writing anything: recovery would discard a record
	// over the limit, with every commit after it, so it must never be
	// written (let alone acknowledged).
	for i, c := range newChunks {
		if err := journal.CheckRecordSize(len(c)); err != nil {
			return fmt.Errorf("commit refused: chunk %s: %w", hashes[i].Short(), err)
		}
	}
	seq := s.head.Seq + 1
	locs := make([]chunkLoc, len(newChunks))
	for i, c := range newChunks {
		locs[i] = chunkLoc{off: s.jw.AddChunk(c), n: uint32(len(c))}
	}
	s.jw.AddRoot(root, seq)
	if err := s.jw.Flush(); err != nil {
		return s.failStop(err)
	}
	switch {
	case s.opts.Faults.SkipFsync:
	case s.opts.Faults.AckBeforeFsync:
		s.dirty = true
	default:
		if err := s.jw.Sync(); err != nil {
			return s.failStop(err)
		}
	}
	for i, c := range newChunks {
		// Just written, so likely read next (the new tree paths).
		s.cache.add(hashes[i], c)
	}
	s.mu.Lock()
	for i, h := range hashes {
		s.index[h] = locs[i]
	}
	s.head = Head{Seq: seq, Root: root, Catalog: cat}
	s.mu.Unlock()
	return nil
}

// lateSyncer implements the AckBeforeFsync fault: commits are
// acknowledged first and fsynced up to AckDelay later.
func (s *Store) lateSyncer() {
	defer close(s.syncDone)
	t := time.NewTicker(s.opts.AckDelay)
	defer t.Stop()
	for {
		select {
		case <-s.syncStop:
			return
		case <-t.C:
			s.commitMu.Lock()
			if s.dirty && s.broken == nil {
				if err := s.jw.Sync(); err != nil {
					_ = s.failStop(err)
				}
				s.dirty = false
			}
			s.commitMu.Unlock()
		}
	}
}

// Close waits for an in-flight commit, makes everything durable and
// closes the journal. Open transactions are abandoned.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.syncStop != nil {
		close(s.syncStop)
		<-s.syncDone
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	var err error
	if s.broken == nil && !s.opts.Faults.SkipFsync {
		err = s.jw.Sync()
	}
	return errors.Join(err, s.jw.Close())
}

// acquireWriter takes the write lock, waiting at most LockWait.
func (s *Store) acquireWriter(ctx context.Context) error {
	select {
	case s.writerSem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.opts.LockWait)
	defer t.Stop()
	select {
	case s.writerSem <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: timed out after %v waiting for the write lock", ErrConflict, s.opts.LockWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) releaseWriter() { <-s.writerSem }

// GC copies every chunk reachable from the current head (and from the
// snapshots of open transactions) into a new journal, makes it durable,
// swaps the manifest atomically and removes the old journal. If owner is
// non-nil and holds the write lock, GC runs under it; otherwise GC waits
// for the write lock, so writers wait (never fail) while GC runs.
func (s *Store) GC(ctx context.Context, owner *Tx) (GCStats, error) {
	start := time.Now()
	if owner == nil || !owner.isWriter() {
		if err := s.acquireWriterForGC(ctx); err != nil {
			return GCStats{}, err
		}
		defer s.releaseWriter()
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.broken != nil {
		return GCStats{}, fmt.Errorf("%w: %w", ErrStopped, s.broken)
	}

	s.mu.RLock()
	head := s.head
	roots := []chunk.Hash{head.Root}
	for tx := range s.txs {
		roots = append(roots, tx.base.Root)
	}
	before := len(s.index)
	s.mu.RUnlock()

	oldName, gen := s.man.Journal, s.man.Generation+1
	newName := journalName(gen)
	f, err := s.fs.OpenFile(s.path(newName), os.O_RDWR|os.O_CREATE|os.O_TRUNC, fsys.FilePerm)
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: create %s: %w", newName, err)
	}
	af := &appendFile{File: f}
	if _, err := af.Write(journal.Magic[:]); err != nil {
		_ = f.Close()
		return GCStats{}, fmt.Errorf("gc: write %s: %w", newName, err)
	}
	w := journal.NewWriter(af, newName, int64(journal.HeaderSize))
	newIndex := make(map[chunk.Hash]chunkLoc)
	err = s.walkPostOrder(roots, func(h chunk.Hash, data []byte) error {
		newIndex[h] = chunkLoc{off: w.AddChunk(data), n: uint32(len(data))}
		if w.Buffered() >= 4<<20 {
			return w.Flush()
		}
		return nil
	})
	if err != nil {
		_ = f.Close()
		return GCStats{}, fmt.Errorf("gc: %w", err)
	}
	w.AddRoot(head.Root, head.Seq)
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return GCStats{}, fmt.Errorf("gc: %w", err)
	}
	if err := w.Sync(); err != nil {
		_ = f.Close()
		return GCStats{}, s.failStop(fmt.Errorf("gc: %w", err))
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		_ = f.Close()
		return GCStats{}, s.failStop(fmt.Errorf("gc: fsync dir: %w", err))
	}
	if err := s.gcHook(GCJournalWritten); err != nil {
		_ = f.Close()
		return GCStats{}, err
	}
	newMan := manifest.Manifest{Journal: newName, Generation: gen, Format: manifest.FormatVersion}
	removeOld := func() error {
		if err := s.fs.Remove(s.path(oldName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("gc: remove %s: %w", oldName, err)
		}
		if err := s.fs.SyncDir(s.dir); err != nil {
			return s.failStop(fmt.Errorf("gc: fsync dir: %w", err))
		}
		return s.gcHook(GCOldRemoved)
	}
	if s.opts.Faults.GCEarlyDelete {
		// Planted bug: the only durable copy named by the manifest goes
		// away before the manifest names the new journal.
		if err := removeOld(); err != nil {
			_ = f.Close()
			return GCStats{}, err
		}
	}
	if err := s.writeManifest(newMan); err != nil {
		_ = f.Close()
		return GCStats{}, s.failStop(fmt.Errorf("gc: %w", err))
	}
	if err := s.gcHook(GCManifestSwapped); err != nil {
		_ = f.Close()
		return GCStats{}, err
	}
	oldW := s.jw
	s.jw, s.man, s.dirty = w, newMan, false
	// Taking mu waits for chunk reads in flight on the old journal.
	s.mu.Lock()
	s.index, s.rf = newIndex, f
	s.mu.Unlock()
	_ = oldW.Close()
	if !s.opts.Faults.GCEarlyDelete {
		if err := removeOld(); err != nil {
			return GCStats{}, err
		}
	}
	st := GCStats{Before: before, After: len(newIndex), Generation: gen, Journal: newName, Duration: time.Since(start)}
	s.opts.Logf("gc: generation %d, chunks %d -> %d, journal %s, took %v", gen, before, st.After, newName, st.Duration.Round(time.Microsecond))
	return st, nil
}

// walkPostOrder calls fn for every chunk reachable from roots, children
// before parents (the order a journal needs), each chunk once. Unlike
// postOrder it fails on a chunk it cannot read: GC must not drop one.
func (s *Store) walkPostOrder(roots []chunk.Hash, fn func(chunk.Hash, []byte) error) error {
	seen := map[chunk.Hash]bool{}
	var visit func(h chunk.Hash) error
	visit = func(h chunk.Hash) error {
		if h.IsZero() || seen[h] {
			return nil
		}
		seen[h] = true
		data, err := s.read(h, false)
		if err != nil {
			return err
		}
		refs, err := chunk.Refs(data)
		if err != nil {
			return fmt.Errorf("chunk %s: %w", h.Short(), err)
		}
		for _, r := range refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		return fn(h, data)
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return err
		}
	}
	return nil
}

// acquireWriterForGC waits for the write lock without the LockWait bound
// (GC is explicitly requested and may wait behind a long transaction).
func (s *Store) acquireWriterForGC(ctx context.Context) error {
	select {
	case s.writerSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) gcHook(step GCStep) error {
	if s.opts.GCHook == nil {
		return nil
	}
	return s.opts.GCHook(step)
}

// GCStats describes one GC run.
type GCStats struct {
	Before, After int
	Generation    uint64
	Journal       string
	Duration      time.Duration
}

// Abandon closes the journal without syncing or any cleanup, the way a
// crash would leave it. Test-only.
func (s *Store) Abandon() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.syncStop != nil {
		close(s.syncStop)
		<-s.syncDone
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	_ = s.jw.Close()
}
