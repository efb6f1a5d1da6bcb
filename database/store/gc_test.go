package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func fill(t *testing.T, s *Store, n int) {
	t.Helper()
	tx, _ := s.Begin(bg, true)
	for i := 0; i < n; i++ {
		if err := tx.Insert(bg, "db", "kv", []any{int64(i), fmt.Sprintf("v%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	// Many small commits leave lots of garbage.
	for i := 0; i < 50; i++ {
		tx, _ := s.Begin(bg, true)
		if err := tx.Update(bg, "db", "kv", []any{int64(i), fmt.Sprintf("v%d", i)}, []any{int64(i), fmt.Sprintf("u%d", i)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(bg); err != nil {
			t.Fatal(err)
		}
	}
}

func checkFilled(t *testing.T, s *Store, n int) {
	t.Helper()
	got := contents(t, s)
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i := 0; i < n; i++ {
		want := fmt.Sprintf("v%d", i)
		if i < 50 {
			want = fmt.Sprintf("u%d", i)
		}
		if got[int64(i)] != want {
			t.Fatalf("row %d = %q, want %q", i, got[int64(i)], want)
		}
	}
}

func journals(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "journal-*.crj"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func TestGC(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	fill(t, s, 2000)
	oldJournal := s.JournalName()
	oldSize := fileSize(t, journalPath(t, s))
	// An open reader keeps its snapshot readable across GC.
	reader, _ := s.Begin(bg, false)
	tx, _ := s.Begin(bg, true)
	for i := 1000; i < 2000; i++ {
		if err := tx.Delete(bg, "db", "kv", []any{int64(i), nil}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	st, err := s.GC(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.After >= st.Before || st.Generation != 2 {
		t.Fatalf("gc stats %+v", st)
	}
	if rt, ok := reader.Table("db", "kv"); !ok || func() int {
		n, it := 0, reader.Rows(rt, nil, nil)
		for _, ok := it.Next(); ok; _, ok = it.Next() {
			n++
		}
		return n
	}() != 2000 {
		t.Fatal("reader snapshot damaged by GC")
	}
	reader.Rollback()
	if j := journals(t, dir); len(j) != 1 || j[0] == oldJournal {
		t.Fatalf("journals after GC: %v", j)
	}
	if sz := fileSize(t, journalPath(t, s)); sz >= oldSize {
		t.Fatalf("journal did not shrink: %d >= %d", sz, oldSize)
	}
	checkFilled(t, s, 1000)
	put(t, s, 5000, "after-gc")
	_ = s.Close()
	s2 := open(t, dir, testOpts(t))
	defer s2.Close()
	if s2.Generation() != 2 {
		t.Fatalf("generation %d", s2.Generation())
	}
	got := contents(t, s2)
	if len(got) != 1001 || got[5000] != "after-gc" {
		t.Fatalf("after reopen: %d rows", len(got))
	}
}

var errCrash = errors.New("simulated crash")

func TestGCCrashAtEachStep(t *testing.T) {
	for _, step := range []GCStep{GCJournalWritten, GCManifestSwapped, GCOldRemoved} {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(t)
			opts.GCHook = func(s GCStep) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			s := setup(t, dir, opts)
			fill(t, s, 300)
			if _, err := s.GC(bg, nil); !errors.Is(err, errCrash) {
				t.Fatalf("gc: %v", err)
			}
			s.Abandon()
			s2 := open(t, dir, testOpts(t))
			defer s2.Close()
			checkFilled(t, s2, 300)
			if j := journals(t, dir); len(j) != 1 {
				t.Fatalf("stray journals not cleaned: %v", j)
			}
			if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tmp")); !os.IsNotExist(err) {
				t.Fatal("MANIFEST.tmp left")
			}
			if _, err := s2.GC(bg, nil); err != nil {
				t.Fatalf("GC after recovery: %v", err)
			}
			checkFilled(t, s2, 300)
		})
	}
}

func TestGCEarlyDeleteFaultLosesDatabase(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(t)
	opts.Faults.GCEarlyDelete = true
	opts.GCHook = func(s GCStep) error {
		if s == GCOldRemoved { // old journal gone, manifest not yet swapped
			return errCrash
		}
		return nil
	}
	s := setup(t, dir, opts)
	fill(t, s, 100)
	if _, err := s.GC(bg, nil); !errors.Is(err, errCrash) {
		t.Fatalf("gc: %v", err)
	}
	s.Abandon()
	if s2, err := Open(dir, testOpts(t)); err == nil {
		_ = s2.Close()
		t.Fatal("database opened although its journal was deleted before the manifest swap")
	}
}

func TestWritersWaitDuringGC(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	defer s.Close()
	fill(t, s, 500)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				tx, err := s.Begin(bg, true)
				if err != nil {
					errs <- err
					return
				}
				if err := tx.Insert(bg, "db", "kv", []any{int64(10000 + w*100 + i), "w"}); err != nil {
					errs <- err
					return
				}
				if err := tx.Commit(bg); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.GC(bg, nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer failed during GC: %v", err)
	}
	if got := contents(t, s); len(got) != 700 {
		t.Fatalf("%d rows, want 700", len(got))
	}
}
