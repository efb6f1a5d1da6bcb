package store

import (
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
