package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
)

func (s *Store) writeManifest(m manifest.Manifest) error {
	if s.opts.Faults.ManifestInPlace {
		return manifest.WriteInPlace(s.fs, s.path(manifest.FileName), m)
	}
	return manifest.Write(s.fs, s.path(manifest.FileName), m)
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
