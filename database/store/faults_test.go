package store

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crashrig/crashrig/database/fsys"
)

// These faults cannot be exposed by killing the process (the page cache
// survives); the VM suite exposes them. Here we check that each switch
// really plants its bug at the I/O level, and that the default does not.
func TestFaultSwitchesPlantBugs(t *testing.T) {
	// commit10 returns the journal fsyncs before the 10 commits (setup
	// syncs the new journal) and how many the commits themselves did.
	commit10 := func(t *testing.T, f Faults) (s *Store, fs *fsys.Counting, before, n int) {
		fs = fsys.NewCounting(fsys.OS{})
		opts := testOpts(t)
		opts.FS, opts.Faults, opts.AckDelay = fs, f, 20*time.Millisecond
		s = setup(t, t.TempDir(), opts)
		before = fs.Syncs("journal-")
		for i := 0; i < 10; i++ {
			put(t, s, int64(i), "x")
		}
		return s, fs, before, fs.Syncs("journal-") - before
	}
	t.Run("default", func(t *testing.T) {
		s, _, _, n := commit10(t, Faults{})
		defer s.Close()
		if n != 10 {
			t.Fatalf("%d fsyncs for 10 commits", n)
		}
	})
	t.Run("skip-fsync", func(t *testing.T) {
		s, _, _, n := commit10(t, Faults{SkipFsync: true})
		defer s.Close()
		if n != 0 {
			t.Fatalf("%d fsyncs with skip-fsync", n)
		}
	})
	t.Run("ack-before-fsync", func(t *testing.T) {
		s, fs, before, n := commit10(t, Faults{AckBeforeFsync: true})
		defer s.Close()
		if n != 0 {
			t.Fatalf("%d fsyncs before acknowledging", n)
		}
		deadline := time.Now().Add(5 * time.Second)
		for fs.Syncs("journal-") == before {
			if time.Now().After(deadline) {
				t.Fatal("late fsync never happened")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("manifest-in-place", func(t *testing.T) {
		s, fs, _, _ := commit10(t, Faults{ManifestInPlace: true})
		defer s.Close()
		syncs := fs.Syncs("MANIFEST")
		if _, err := s.GC(bg, nil); err != nil {
			t.Fatal(err)
		}
		if fs.Syncs("MANIFEST") != syncs || fs.Writes("MANIFEST.tmp") != 0 {
			t.Fatal("manifest-in-place still used temp file or fsync")
		}
		if got := contents(t, s); len(got) != 10 {
			t.Fatalf("%d rows", len(got))
		}
	})
}

// writeback-no-flush writes every commit out to the device without an
// fsync (no cache flush), and that is enough to survive a process kill.
func TestWritebackNoFlushFault(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS, opts.Faults = fs, Faults{WritebackNoFlush: true}
	s := setup(t, dir, opts)
	syncs, outs := fs.Syncs("journal-"), fs.WriteOuts("journal-")
	for i := 0; i < 10; i++ {
		put(t, s, int64(i), "x")
	}
	if n := fs.Syncs("journal-") - syncs; n != 0 {
		t.Errorf("%d journal fsyncs for 10 commits with writeback-no-flush, want 0", n)
	}
	if n := fs.WriteOuts("journal-") - outs; n != 10 {
		t.Errorf("%d journal write-outs for 10 commits, want 10", n)
	}
	s.Abandon() // a kill: no fsync on the way out
	s = open(t, dir, testOpts(t))
	defer s.Close()
	if got := contents(t, s); len(got) != 10 {
		t.Fatalf("%d rows after a kill, want 10: %v", len(got), got)
	}
}

// Without the fault a commit never writes out instead of syncing.
func TestDefaultCommitDoesNoWriteOut(t *testing.T) {
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS = fs
	s := setup(t, t.TempDir(), opts)
	defer s.Close()
	put(t, s, 1, "x")
	if n := fs.WriteOuts("journal-"); n != 0 {
		t.Fatalf("%d write-outs without the fault", n)
	}
}

// retry-fsync-after-error acknowledges a commit whose first fsync failed
// once the retry succeeds, and keeps going; the correct store fails stop
// (TestFsyncFailureIsFailStop).
func TestRetryFsyncAfterErrorFault(t *testing.T) {
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS, opts.Faults = fs, Faults{RetryFsyncAfterError: true}
	s := setup(t, t.TempDir(), opts)
	defer s.Close()
	failed := 0
	fs.SetFailSync(func(name string) error {
		if strings.HasPrefix(name, "journal-") && failed == 0 {
			failed++
			return syscall.EIO
		}
		return nil
	})
	syncs := fs.Syncs("journal-")
	put(t, s, 1, "x") // fails the test if the commit errs or fails stop
	if failed != 1 {
		t.Fatal("the injected fsync error never happened")
	}
	if n := fs.Syncs("journal-") - syncs; n != 2 {
		t.Fatalf("%d journal fsyncs for the commit, want 2 (failed, retried)", n)
	}
	put(t, s, 2, "y")
	if got := contents(t, s); len(got) != 2 {
		t.Fatalf("rows %v", got)
	}
}

// With no-write-conflict two read-modify-write transactions on the same
// snapshot both commit and one update is lost; without it the second
// writer gets ErrConflict.
func TestNoWriteConflictFault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bool
	}{{"default", false}, {"no-write-conflict", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts(t)
			opts.Faults.NoWriteConflict = tc.fault
			opts.LockWait = 50 * time.Millisecond
			s := setup(t, t.TempDir(), opts)
			defer s.Close()
			put(t, s, 1, "0")
			begin := func() *Tx {
				tx, err := s.Begin(bg, false)
				if err != nil {
					t.Fatal(err)
				}
				return tx
			}
			increment := func(tx *Tx) error {
				tb, _ := tx.Table("db", "kv")
				it := tx.Rows(tb, nil, nil)
				row, ok := it.Next()
				if !ok {
					t.Fatalf("no row: %v", it.Err())
				}
				n, _ := strconv.Atoi(row[1].(string))
				return tx.Update(bg, "db", "kv", row, []any{row[0], strconv.Itoa(n + 1)})
			}
			a, b := begin(), begin()
			defer a.Rollback()
			defer b.Rollback()
			if err := increment(a); err != nil {
				t.Fatal(err)
			}
			if err := a.Commit(bg); err != nil {
				t.Fatal(err)
			}
			err := increment(b)
			if !tc.fault {
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("second writer on a stale snapshot: %v, want ErrConflict", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("with the fault: %v", err)
			}
			if err := b.Commit(bg); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, s)[1]; got != "1" {
				t.Fatalf("counter %q after two acknowledged increments; the fault should lose one (want \"1\")", got)
			}
		})
	}
}
