package store

import (
	"fmt"
	"time"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
)

// appendFile turns positional writes into appends at a tracked offset, so
// the journal never depends on O_APPEND semantics after a truncate.
type appendFile struct {
	fsys.File
	off int64
}

// Unwrap returns the file written to (fsys.WriteOut needs the OS file).
func (a *appendFile) Unwrap() fsys.File { return a.File }

func (a *appendFile) Write(p []byte) (int, error) {
	n, err := a.File.WriteAt(p, a.off)
	a.off += int64(n)
	return n, err
}

// failStop records err, after which no commit succeeds, and hands it to
// Options.FailStop.
func (s *Store) failStop(err error) error {
	s.broken = err
	s.opts.FailStop(err)
	return err
}

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
	if s.opts.Faults.WritebackNoFlush {
		if err := s.zeroFillAhead(s.jw.Size()); err != nil {
			return s.failStop(err)
		}
	}
	if err := s.jw.Flush(); err != nil {
		return s.failStop(err)
	}
	if err := s.makeDurable(); err != nil {
		return s.failStop(err)
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

// makeDurable makes the journal's appended records durable: one fsync,
// unless a planted fault does something weaker.
func (s *Store) makeDurable() error {
	f := s.opts.Faults
	switch {
	case f.SkipFsync:
		return nil
	case f.AckBeforeFsync:
		s.dirty = true
		return nil
	case f.WritebackNoFlush:
		// Planted bug: the records reach the device but may sit in its
		// volatile cache; only a power cut loses them.
		return s.jw.WriteOut()
	}
	err := s.jw.Sync()
	if err != nil && f.RetryFsyncAfterError {
		// Planted bug: after a failed fsync the kernel may have marked
		// the dirty pages clean (and dropped them), so a retry that
		// succeeds says nothing about the records it should cover.
		s.opts.Logf("retry-fsync-after-error: %v; retrying the fsync", err)
		err = s.jw.Sync()
	}
	return err
}

// zeroFillStep is how far ahead zeroFillAhead fills the journal. Small,
// because recovery reads a zero tail byte by byte before cutting it.
const zeroFillStep = 1 << 20

// zeroFillAhead makes sure the journal file is zero-filled and durable up
// to at least end, for the WritebackNoFlush fault. Its commits then only
// overwrite blocks that are allocated and inside the file's size, so they
// need no metadata (which a filesystem commits with a cache flush) and
// sync_file_range alone brings them to the device: a kill or a machine
// reset keeps them, only a lost disk cache does not. The fill itself is
// fsynced, outside any commit. Recovery cuts the zero tail as torn.
func (s *Store) zeroFillAhead(end int64) error {
	if end <= s.zeroedTo {
		return nil
	}
	size, err := s.rf.Size()
	if err != nil {
		return fmt.Errorf("stat journal %s: %w", s.jw.Name(), err)
	}
	from := max(size, s.zeroedTo)
	to := end + zeroFillStep
	if _, err := s.rf.WriteAt(make([]byte, to-from), from); err != nil {
		return fmt.Errorf("zero-fill journal %s: %w", s.jw.Name(), err)
	}
	if err := s.rf.Sync(); err != nil {
		return fmt.Errorf("fsync zero-filled journal %s: %w", s.jw.Name(), err)
	}
	s.zeroedTo = to
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
