package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
// fsync (no cache flush) and without changing the file's size (the
// journal is zero-filled ahead, fsynced outside the commits), and that is
// enough to survive a process kill.
func TestWritebackNoFlushFault(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	opts := testOpts(t)
	opts.FS, opts.Faults = fs, Faults{WritebackNoFlush: true}
	s := setup(t, dir, opts) // its commit zero-fills ahead
	size := fileSize(t, journalPath(t, s))
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
	if got := fileSize(t, journalPath(t, s)); got != size || size < zeroFillStep {
		t.Errorf("journal size %d before the commits, %d after; want the zero-filled size (>= %d) unchanged", size, got, zeroFillStep)
	}
	// GC starts a new journal, which is zero-filled ahead in turn.
	if _, err := s.GC(bg, nil); err != nil {
		t.Fatal(err)
	}
	put(t, s, 10, "after gc")
	if got := fileSize(t, journalPath(t, s)); got < zeroFillStep {
		t.Errorf("new journal %d bytes after GC and a commit, want zero-filled ahead", got)
	}
	s.Abandon() // a kill: no fsync on the way out
	s = open(t, dir, testOpts(t))
	defer s.Close()
	if got := contents(t, s); len(got) != 11 {
		t.Fatalf("%d rows after a kill, want 11: %v", len(got), got)
	}
	if r := s.Recovery(); r.TornBytes == 0 {
		t.Errorf("recovery found no zero tail to cut: %+v", r)
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

// killChildEnv makes the test binary run as the child that
// TestWritebackNoFlushSurvivesKill9 kills; its value is the data dir.
const killChildEnv = "CRASHRIG_STORE_KILL_CHILD_DIR"

// A real kill -9 of a process committing with writeback-no-flush loses
// nothing: the write-out put the records in the page cache and on their
// way to the device before each acknowledgement.
func TestWritebackNoFlushSurvivesKill9(t *testing.T) {
	const commits = 20
	if dir := os.Getenv(killChildEnv); dir != "" {
		opts := testOpts(t)
		opts.Faults = Faults{WritebackNoFlush: true}
		s := setup(t, dir, opts)
		for i := 0; i < commits; i++ {
			put(t, s, int64(i), "acked")
		}
		fmt.Println("acknowledged")
		time.Sleep(time.Minute) // killed here
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWritebackNoFlushSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "acknowledged" {
	}
	if sc.Text() != "acknowledged" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child ended before acknowledging its commits: %v", sc.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s := open(t, dir, testOpts(t))
	defer s.Close()
	if got := contents(t, s); len(got) != commits {
		t.Fatalf("%d rows after kill -9, want %d", len(got), commits)
	}
}
