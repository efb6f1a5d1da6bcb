package store

import (
	"fmt"
	"os"
	"time"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
)

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
