package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
)

// GCStep names a point inside GC, for crash simulation hooks.
type GCStep string

// GC steps, in order (GCEarlyDelete swaps the last two).
const (
	GCJournalWritten  GCStep = "new-journal-durable"
	GCManifestSwapped GCStep = "manifest-swapped"
	GCOldRemoved      GCStep = "old-journal-removed"
)

// GC copies every chunk reachable from the current head (and from the
// snapshots of open transactions) into a new journal, makes it durable,
// swaps the manifest atomically and removes the old journal. If owner is
// non-nil and holds the write lock, GC runs under it; otherwise GC waits
// for the write lock, so writers wait (never fail) while GC runs.
func (s *Store) GC(ctx context.Context, owner *Tx) (GCStats, error) {
	start := time.Now()
	if owner == nil || !owner.holdsLock() {
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
	s.jw, s.man, s.dirty, s.zeroedTo = w, newMan, false, 0
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
