package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/manifest"
)

// CheckReport is what Check found in a data directory without changing it.
type CheckReport struct {
	Dir      string
	Manifest *manifest.Manifest // nil if there is none
	Journals []string           // journal files in the directory
	Journal  string             // the journal checked (the manifest's)
	Size     int64
	Records  int    // valid records before the first invalid one
	Commits  int    // of which root records
	LastSeq  uint64 // sequence of the last valid commit before any damage
	GoodEnd  int64  // offset just past that commit's root record
	// StopReason is why the scan stopped before the end (empty if clean).
	StopReason string
	BadOffset  int64
	// ValidAfter > 0 means corruption (valid records follow the damage);
	// otherwise bytes after GoodEnd are a torn tail that Open discards.
	ValidAfter, RootsAfter int
	FirstValidAfter        int64
}

// Corrupt reports whether valid records follow damage in the journal.
func (r CheckReport) Corrupt() bool { return r.ValidAfter > 0 }

// String is the human-readable report fsck prints.
func (r CheckReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data directory: %s\n", r.Dir)
	fmt.Fprintf(&b, "journal files: %s\n", strings.Join(r.Journals, ", "))
	if r.Manifest == nil {
		fmt.Fprintf(&b, "MANIFEST: missing\n")
		return b.String()
	}
	fmt.Fprintf(&b, "MANIFEST: generation %d, journal %s\n", r.Manifest.Generation, r.Manifest.Journal)
	fmt.Fprintf(&b, "journal %s: %d bytes, %d valid records, %d commits, last commit seq %d ends at offset %d\n",
		r.Journal, r.Size, r.Records, r.Commits, r.LastSeq, r.GoodEnd)
	switch {
	case r.Corrupt():
		fmt.Fprintf(&b, "CORRUPT: invalid record at offset %d (%s), followed by %d valid records (%d commits), the first at offset %d\n",
			r.BadOffset, r.StopReason, r.ValidAfter, r.RootsAfter, r.FirstValidAfter)
		fmt.Fprintf(&b, "reviving would keep commits up to seq %d and discard %d bytes from offset %d\n", r.LastSeq, r.Size-r.GoodEnd, r.GoodEnd)
	case r.Size > r.GoodEnd:
		fmt.Fprintf(&b, "torn tail: %d bytes after offset %d (%s); the server discards them at start\n", r.Size-r.GoodEnd, r.GoodEnd, r.StopReason)
	default:
		fmt.Fprintf(&b, "clean\n")
	}
	return b.String()
}

// Check scans dir's manifest and journal and reports, changing nothing.
func Check(dir string) (CheckReport, error) {
	fs := fsys.OS{}
	r := CheckReport{Dir: dir}
	names, err := fs.ReadDir(dir)
	if err != nil {
		return r, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, n := range names {
		if isJournalName(n) {
			r.Journals = append(r.Journals, n)
		}
	}
	m, err := manifest.Read(fs, filepath.Join(dir, manifest.FileName))
	if errors.Is(err, manifest.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Manifest, r.Journal = &m, m.Journal
	f, err := os.Open(filepath.Join(dir, m.Journal))
	if err != nil {
		return r, fmt.Errorf("open journal named by the manifest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return r, fmt.Errorf("stat %s: %w", m.Journal, err)
	}
	r.Size = st.Size()
	res, err := journal.ScanFile(f, r.Size, journal.ScanOptions{}, func(rec journal.Record) error {
		r.Records++
		if rec.Kind == journal.KindRoot {
			_, seq, err := journal.ParseRootBody(rec.Body)
			if err != nil {
				return err
			}
			r.Commits++
			r.LastSeq, r.GoodEnd = seq, rec.Offset+journal.RecordHeaderSize+int64(len(rec.Body))
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("scan %s: %w", m.Journal, err)
	}
	r.StopReason = res.StopReason
	if res.StopReason != "" {
		r.BadOffset = res.ValidEnd
	}
	r.ValidAfter, r.RootsAfter, r.FirstValidAfter = res.ValidAfter, res.RootsAfter, res.FirstValidAfter
	return r, nil
}

// LossFilePrefix starts the name of the file Revive writes to record a
// data loss in the data directory.
const LossFilePrefix = "DATA-LOSS-"

// Revival says what Revive gave up and where it kept it.
type Revival struct {
	Report   CheckReport
	LossFile string // description of the loss
	TailFile string // copy of the discarded bytes
}

// Revive makes a corrupt journal openable by cutting it at the end of the
// last commit before the damage, losing every later commit. It first
// copies the discarded bytes to TailFile and describes the loss in
// LossFile (both in dir, fsynced), so nothing is destroyed without a trace.
// Only an operator's explicit request may call it.
func Revive(dir string, now time.Time) (Revival, error) {
	r, err := Check(dir)
	if err != nil {
		return Revival{}, err
	}
	rv := Revival{Report: r}
	if r.Manifest == nil {
		return rv, fmt.Errorf("%s has no MANIFEST; revive only repairs a corrupt journal", dir)
	}
	if !r.Corrupt() {
		return rv, fmt.Errorf("journal %s is not corrupt; nothing to revive", r.Journal)
	}
	if r.Commits == 0 {
		return rv, fmt.Errorf("journal %s has no valid commit before the damage at offset %d; nothing to keep", r.Journal, r.BadOffset)
	}
	stamp := now.UTC().Format("20060102T150405Z")
	jp := filepath.Join(dir, r.Journal)
	rv.TailFile = filepath.Join(dir, r.Journal+".lost-"+stamp)
	rv.LossFile = filepath.Join(dir, LossFilePrefix+stamp+".txt")
	f, err := os.OpenFile(jp, os.O_RDWR, 0)
	if err != nil {
		return rv, fmt.Errorf("open %s: %w", jp, err)
	}
	defer f.Close()
	if err := copyTail(f, r.GoodEnd, r.Size, rv.TailFile); err != nil {
		return rv, err
	}
	text := fmt.Sprintf("crashrig-sqlserver fsck -revive-with-data-loss at %s\n%s"+
		"discarded: bytes [%d, %d) of %s (%d valid records, %d commits after the damage), kept in %s\n"+
		"the database now ends at commit seq %d\n",
		now.UTC().Format(time.RFC3339), r, r.GoodEnd, r.Size, r.Journal, r.ValidAfter, r.RootsAfter, filepath.Base(rv.TailFile), r.LastSeq)
	if err := fsys.WriteFileAtomic(fsys.OS{}, rv.LossFile, []byte(text)); err != nil {
		return rv, fmt.Errorf("write %s: %w", rv.LossFile, err)
	}
	if err := f.Truncate(r.GoodEnd); err != nil {
		return rv, fmt.Errorf("truncate %s: %w", jp, err)
	}
	if err := f.Sync(); err != nil {
		return rv, fmt.Errorf("fsync %s: %w", jp, err)
	}
	return rv, nil
}

// copyTail copies f's bytes [from, to) to a new file at path, durably.
func copyTail(f *os.File, from, to int64, path string) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsys.FilePerm)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(f, from, to-from)); err != nil {
		return fmt.Errorf("copy discarded bytes to %s: %w", path, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := fsys.OS.SyncDir(fsys.OS{}, filepath.Dir(path)); err != nil {
		return fmt.Errorf("fsync %s: %w", filepath.Dir(path), err)
	}
	return nil
}
