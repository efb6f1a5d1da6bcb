package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/tree"
)

var bg = context.Background()

func testOpts(t *testing.T) Options {
	return Options{
		Logf:     t.Logf,
		FailStop: func(err error) { t.Errorf("unexpected fail-stop: %v", err) },
	}
}

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

var kvDef = &Table{Name: "kv", Columns: []Column{{Name: "k", Type: "bigint"}, {Name: "v", Type: "varchar(100)", Nullable: true}}, PK: []int{0}}

// setup creates db.kv and returns the store.
func setup(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s := open(t, dir, opts)
	tx, err := s.Begin(bg, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateDatabase(bg, "db"); err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateTable(bg, "db", kvDef); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, k int64, v string) {
	t.Helper()
	tx, err := s.Begin(bg, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Insert(bg, "db", "kv", []any{k, v}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
}

func contents(t *testing.T, s *Store) map[int64]string {
	t.Helper()
	tx, err := s.Begin(bg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tbl, ok := tx.Table("db", "kv")
	if !ok {
		t.Fatal("table db.kv missing")
	}
	out := map[int64]string{}
	it := tx.Rows(tbl, nil, nil)
	for {
		r, ok := it.Next()
		if !ok {
			break
		}
		out[r[0].(int64)] = r[1].(string)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func journalPath(_ *testing.T, s *Store) string { return filepath.Join(s.dir, s.JournalName()) }

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		panic(err)
	}
	return st.Size()
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestNewDatabaseIsDurableBeforeUse(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS = fs
	s := open(t, dir, opts)
	defer s.Close()
	ri := s.Recovery()
	if !ri.Created || ri.Root.IsZero() || ri.Seq != 1 {
		t.Fatalf("recovery info %+v", ri)
	}
	// The first root record was fsynced and the manifest written atomically.
	if fs.Syncs("journal-") < 1 || fs.Syncs("MANIFEST") != 1 || fs.DirSyncs() < 2 {
		t.Fatalf("journal syncs %d manifest syncs %d dir syncs %d", fs.Syncs("journal-"), fs.Syncs("MANIFEST"), fs.DirSyncs())
	}
}

func TestCrashBeforeManifestReinitialises(t *testing.T) {
	// What a crash during initialisation can leave (a prefix of the first
	// journal, parts of it possibly zero-filled) must not be opened; the
	// directory counts as new.
	init := initialJournal()
	partial := append([]byte{}, init[:len(init)-7]...)
	clear(partial[20:30])
	for name, data := range map[string][]byte{
		"empty": nil, "zeros": make([]byte, len(init)), "whole": init, "partial": partial,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "journal-000001.crj"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			s := open(t, dir, testOpts(t))
			defer s.Close()
			if !s.Recovery().Created || s.Recovery().Root.IsZero() {
				t.Fatalf("%+v", s.Recovery())
			}
		})
	}
}

// Issue 17 item 2: a data directory whose MANIFEST is gone but whose
// journals hold data must not be initialised (that deleted the journals).
func TestMissingManifestWithJournalsRefuses(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	put(t, s, 1, "one")
	jp := journalPath(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, testOpts(t))
	if !errors.Is(err, ErrJournalsWithoutManifest) {
		t.Fatalf("open without manifest: %v, want ErrJournalsWithoutManifest", err)
	}
	for _, want := range []string{dir, filepath.Base(jp)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	after, err := os.ReadFile(jp)
	if err != nil || string(after) != string(before) {
		t.Fatalf("journal changed by the refused open (err %v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); !os.IsNotExist(err) {
		t.Fatalf("refused open wrote a manifest: %v", err)
	}
}

func TestDataFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := setup(t, dir, testOpts(t))
	put(t, s, 1, "one")
	if _, err := s.GC(bg, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", st.Mode().Perm())
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
}

func TestTornLastCommitAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	put(t, s, 1, "one")
	jp := journalPath(t, s)
	goodEnd := fileSize(t, jp)
	goodRoot := s.Head().Root
	put(t, s, 2, "two")
	fullEnd := fileSize(t, jp)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, n := range []string{"MANIFEST", filepath.Base(jp)} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		if err := os.WriteFile(filepath.Join(work, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wp := filepath.Join(work, filepath.Base(jp))
	for cut := goodEnd; cut < fullEnd; cut++ {
		if err := os.WriteFile(wp, full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(work, testOpts(t))
		if err != nil {
			t.Fatalf("cut %d: open: %v", cut, err)
		}
		if s2.Head().Root != goodRoot {
			t.Fatalf("cut %d: opened at %s, want previous root %s", cut, s2.Head().Root.Short(), goodRoot.Short())
		}
		if sz := fileSize(t, wp); sz != goodEnd {
			t.Fatalf("cut %d: torn tail not truncated (size %d, want %d)", cut, sz, goodEnd)
		}
		if cut == goodEnd+1 || cut == fullEnd-1 {
			// Appending after recovery works and survives a reopen.
			if got := contents(t, s2); len(got) != 1 || got[1] != "one" {
				t.Fatalf("cut %d: contents %v", cut, got)
			}
			put(t, s2, 3, "three")
			_ = s2.Close()
			s3 := open(t, work, testOpts(t))
			if got := contents(t, s3); len(got) != 2 || got[3] != "three" {
				t.Fatalf("cut %d: after append+reopen %v", cut, got)
			}
			_ = s3.Close()
			continue
		}
		_ = s2.Close()
	}
	// The untouched journal opens at the last commit.
	if err := os.WriteFile(wp, full, 0o644); err != nil {
		t.Fatal(err)
	}
	s4 := open(t, work, testOpts(t))
	defer s4.Close()
	if got := contents(t, s4); len(got) != 2 || got[2] != "two" {
		t.Fatalf("full journal contents %v", got)
	}
}

func TestZeroFilledTail(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	put(t, s, 1, "one")
	jp := journalPath(t, s)
	end := fileSize(t, jp)
	_ = s.Close()
	f, err := os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(make([]byte, 8192))
	_ = f.Close()
	s2 := open(t, dir, testOpts(t))
	defer s2.Close()
	if got := contents(t, s2); len(got) != 1 || got[1] != "one" {
		t.Fatalf("contents %v", got)
	}
	if sz := fileSize(t, jp); sz != end {
		t.Fatalf("zero tail not truncated: %d != %d", sz, end)
	}
	if s2.Recovery().TornBytes != 8192 {
		t.Fatalf("torn bytes %d", s2.Recovery().TornBytes)
	}
}

func TestAcceptTornTailFaultAcceptsZeroRoot(t *testing.T) {
	// A torn root record whose payload never reached the disk: header
	// present, body zeros. Correct recovery ignores it; the planted bug
	// opens an empty database.
	for _, fault := range []bool{false, true} {
		dir := t.TempDir()
		s := setup(t, dir, testOpts(t))
		put(t, s, 1, "one")
		jp := journalPath(t, s)
		_ = s.Close()
		appendTornRoot(t, jp)
		opts := testOpts(t)
		opts.Faults.AcceptTornTail = fault
		s2 := open(t, dir, opts)
		_, hasDB := s2.Head().Catalog.DB("db")
		if hasDB == fault {
			t.Fatalf("fault=%v: database present=%v", fault, hasDB)
		}
		_ = s2.Close()
	}
}

// appendTornRoot appends a root record header with a wrong CRC and a
// zero-filled body.
func appendTornRoot(t *testing.T, jp string) {
	t.Helper()
	hdr := []byte{40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 2}
	f, err := os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(hdr, make([]byte, 40)...)); err != nil {
		t.Fatal(err)
	}
}

func TestCommitRules(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS = fs
	opts.LockWait = 50 * 1e6 // 50ms
	s := setup(t, dir, opts)
	defer s.Close()
	put(t, s, 1, "a")

	// A read-only transaction costs no fsync.
	before := fs.Syncs("journal-")
	ro, _ := s.Begin(bg, false)
	_ = contents(t, s)
	if err := ro.Commit(bg); err != nil {
		t.Fatal(err)
	}
	if fs.Syncs("journal-") != before {
		t.Fatal("read-only commit fsynced")
	}

	// Two writers: the second cannot get the lock -> conflict.
	a, _ := s.Begin(bg, false)
	b, _ := s.Begin(bg, false)
	if err := a.Insert(bg, "db", "kv", []any{int64(2), "x"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Insert(bg, "db", "kv", []any{int64(3), "y"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second writer: %v, want ErrConflict", err)
	}
	// b still reads its snapshot, without a's uncommitted row.
	if tb, _ := b.Table("db", "kv"); tb != nil {
		if _, found, _ := tree.Get(b, tb.Rows, mustKey(t, tb, 2)); found {
			t.Fatal("uncommitted row visible to other transaction")
		}
	}
	if err := a.Commit(bg); err != nil {
		t.Fatal(err)
	}
	// Now b's snapshot is stale -> conflict even though the lock is free.
	if err := b.Insert(bg, "db", "kv", []any{int64(3), "y"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale writer: %v, want ErrConflict", err)
	}
	b.Rollback()
	// Duplicate key is reported with the existing row.
	c, _ := s.Begin(bg, true)
	var dup *DuplicateKeyError
	if err := c.Insert(bg, "db", "kv", []any{int64(1), "again"}); !errors.As(err, &dup) || !dup.IsPK || dup.Existing[1] != "a" {
		t.Fatalf("dup insert: %v", err)
	}
	c.Rollback()
	// Statement rollback restores the pre-statement state.
	d, _ := s.Begin(bg, true)
	d.StatementBegin(7)
	_ = d.Insert(bg, "db", "kv", []any{int64(9), "z"})
	d.DiscardStatement(7)
	before = fs.Syncs("journal-")
	if err := d.Commit(bg); err != nil {
		t.Fatal(err)
	}
	if fs.Syncs("journal-") != before {
		t.Fatal("commit of a fully discarded statement fsynced")
	}
	if got := contents(t, s); len(got) != 2 {
		t.Fatalf("contents %v", got)
	}
}

func mustKey(t *testing.T, tb *Table, k int64) []byte {
	key, err := RowKey(tb, []any{k, nil})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestOneRowCommitWritesLogChunks(t *testing.T) {
	s := setup(t, t.TempDir(), testOpts(t))
	defer s.Close()
	tx, _ := s.Begin(bg, true)
	const n = 20000
	for i := 0; i < n; i++ {
		if err := tx.Insert(bg, "db", "kv", []any{int64(i), fmt.Sprintf("value-%d-some-padding-to-fill-nodes", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	total := s.ChunkCount()
	tb, _ := s.Head().Catalog.DBs["db"].Table("kv")
	height, _ := tree.Height(s.Snapshot(), tb.Rows)
	before := s.ChunkCount()
	tx2, _ := s.Begin(bg, true)
	if err := tx2.Update(bg, "db", "kv", []any{int64(n / 2), "x"}, []any{int64(n / 2), "changed"}); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Commit(bg); err != nil {
		t.Fatal(err)
	}
	written := s.ChunkCount() - before
	// Path from leaf to root of the row tree + table + database + root.
	if written != height+3 {
		t.Fatalf("one-row update wrote %d chunks; tree height %d, %d chunks total", written, height, total)
	}
	t.Logf("one-row commit wrote %d of %d chunks (height %d)", written, total, height)
}

func TestFsyncFailureIsFailStop(t *testing.T) {
	fs := fsys.NewCounting(fsys.OS{})
	var stopped error
	opts := Options{Logf: t.Logf, FS: fs, FailStop: func(err error) { stopped = err }}
	s := setup(t, t.TempDir(), opts)
	defer s.Close()
	fs.FailSync = func(string) error { return errors.New("EIO") }
	tx, _ := s.Begin(bg, true)
	_ = tx.Insert(bg, "db", "kv", []any{int64(1), "x"})
	if err := tx.Commit(bg); err == nil || stopped == nil {
		t.Fatalf("commit err %v, fail-stop %v", err, stopped)
	}
	fs.FailSync = nil
	tx2, _ := s.Begin(bg, true)
	_ = tx2.Insert(bg, "db", "kv", []any{int64(2), "y"})
	if err := tx2.Commit(bg); err == nil {
		t.Fatal("store kept committing after an fsync failure")
	}
}

func TestMissingChunkRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	for i := 0; i < 300; i++ {
		put(t, s, int64(i), "some value that fills the tree")
	}
	jp := journalPath(t, s)
	_ = s.Close()
	// Rewrite the journal without one of its chunk records (re-framed, so
	// every CRC is valid): recovery must notice the hole.
	data, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	// Find the first chunk record of the last commit (a tree leaf, since
	// children are written first) and drop it.
	var prevRootEnd, lastCommitFirst int64 = -1, -1
	_, err = journal.Scan(data, journal.ScanOptions{}, func(r journal.Record) error {
		if r.Kind == journal.KindRoot {
			prevRootEnd = r.Offset + journal.RecordHeaderSize + int64(len(r.Body))
		} else if r.Offset == prevRootEnd {
			lastCommitFirst = r.Offset
		}
		return nil
	})
	if err != nil || lastCommitFirst < 0 {
		t.Fatal(err, lastCommitFirst)
	}
	out := append([]byte{}, journal.Magic[:]...)
	_, err = journal.Scan(data, journal.ScanOptions{}, func(r journal.Record) error {
		if r.Offset != lastCommitFirst {
			out = journal.AppendRecord(out, r.Kind, r.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jp, out, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, testOpts(t))
	if err == nil {
		_ = s2.Close()
		t.Fatal("opened a journal with a missing reachable chunk")
	}
	if !strings.Contains(err.Error(), "missing chunks") {
		t.Fatalf("unexpected error: %v", err)
	}
}

// TestReadsFromJournalWithTinyCache runs with a cache too small to hold
// anything useful, so every read goes to the journal: before and after a
// reopen and a GC (which switches the journal reads come from).
func TestReadsFromJournalWithTinyCache(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(t)
	opts.CacheBytes = 1
	s := setup(t, dir, opts)
	want := map[int64]string{}
	for i := int64(0); i < 300; i++ {
		v := fmt.Sprintf("value %d that fills the tree", i)
		put(t, s, i, v)
		want[i] = v
	}
	check := func(s *Store, when string) {
		t.Helper()
		got := contents(t, s)
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", when, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: row %d = %q, want %q", when, k, got[k], v)
			}
		}
	}
	check(s, "before reopen")
	_ = s.Close()
	s = open(t, dir, opts)
	defer s.Close()
	check(s, "after reopen")
	if _, err := s.GC(bg, nil); err != nil {
		t.Fatal(err)
	}
	check(s, "after gc")
	put(t, s, 1000, "after gc")
	want[1000] = "after gc"
	check(s, "after a commit on the new journal")
}

// TestChunkChangedOnDiskIsAnError flips a byte of a committed chunk after
// recovery (so the journal CRC was fine when scanned): reading it must fail
// instead of returning wrong data.
func TestChunkChangedOnDiskIsAnError(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(t)
	opts.CacheBytes = 1
	s := setup(t, dir, opts)
	put(t, s, 1, "precious")
	_ = s.Close()
	s = open(t, dir, opts)
	defer s.Close()
	tbl, _ := s.Head().Catalog.DBs["db"].Table("kv")
	s.mu.RLock()
	loc := s.index[tbl.Rows]
	s.mu.RUnlock()
	f, err := os.OpenFile(journalPath(t, s), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	_, _ = f.ReadAt(b, loc.off+int64(loc.n)-1)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, loc.off+int64(loc.n)-1); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if _, err := s.Get(tbl.Rows); err == nil || !strings.Contains(err.Error(), "does not match its hash") {
		t.Fatalf("read of a changed chunk: %v", err)
	}
}
