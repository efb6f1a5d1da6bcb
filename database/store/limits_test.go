package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/journal"
)

var blobDef = &Table{Name: "kv", Columns: []Column{{Name: "k", Type: "bigint"}, {Name: "v", Type: "longtext", Nullable: true}}, PK: []int{0}}

// setupBlobs creates db.kv with a LONGTEXT value column.
func setupBlobs(t *testing.T, dir string) *Store {
	t.Helper()
	s := open(t, dir, testOpts(t))
	tx, err := s.Begin(bg, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateDatabase(bg, "db"); err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateTable(bg, "db", blobDef); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(bg); err != nil {
		t.Fatal(err)
	}
	return s
}

func bigValue(k int64, n int) string {
	return strings.Repeat(string(rune('a'+k%26)), n)
}

// Issue 17 item 1: rows of 25 MiB used to share one leaf chunk; once the
// leaf passed journal.MaxRecordBody the commit was acknowledged and then
// discarded by recovery, with every later commit.
func TestLargeRowsSurviveRestart(t *testing.T) {
	const rowBytes = 25 << 20
	for _, restart := range []string{"clean", "kill"} {
		t.Run(restart, func(t *testing.T) {
			dir := t.TempDir()
			s := setupBlobs(t, dir)
			want := map[int64]int{}
			for k := int64(1); k <= 4; k++ {
				put(t, s, k, bigValue(k, rowBytes))
				want[k] = rowBytes
			}
			// Two more in one transaction, and a small row after them.
			tx, err := s.Begin(bg, true)
			if err != nil {
				t.Fatal(err)
			}
			for k := int64(5); k <= 6; k++ {
				if err := tx.Insert(bg, "db", "kv", []any{k, bigValue(k, rowBytes)}); err != nil {
					t.Fatal(err)
				}
				want[k] = rowBytes
			}
			if err := tx.Commit(bg); err != nil {
				t.Fatal(err)
			}
			put(t, s, 7, "small")
			want[7] = len("small")
			if restart == "clean" {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// "kill": the store is simply abandoned; every commit was fsynced.
			s2 := open(t, dir, testOpts(t))
			defer s2.Close()
			if ri := s2.Recovery(); ri.TornBytes != 0 {
				t.Fatalf("recovery discarded %d bytes: %s", ri.TornBytes, ri.StopReason)
			}
			got := contents(t, s2)
			if len(got) != len(want) {
				t.Fatalf("after %s restart %d rows, want %d", restart, len(got), len(want))
			}
			for k, n := range want {
				if len(got[k]) != n {
					t.Fatalf("row %d has %d bytes, want %d", k, len(got[k]), n)
				}
			}
		})
	}
}

// A single row too large for one journal record is refused before
// anything is written, and the store goes on.
func TestRowOverRecordLimitIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := setupBlobs(t, dir)
	put(t, s, 1, "before")
	size := fileSize(t, journalPath(t, s))
	tx, err := s.Begin(bg, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Insert(bg, "db", "kv", []any{int64(2), bigValue(2, journal.MaxRecordBody+1)}); err != nil {
		t.Fatal(err)
	}
	err = tx.Commit(bg)
	if !errors.Is(err, journal.ErrRecordTooLarge) {
		t.Fatalf("commit of an oversized row: %v, want ErrRecordTooLarge", err)
	}
	if got := fileSize(t, journalPath(t, s)); got != size {
		t.Fatalf("refused commit wrote %d bytes", got-size)
	}
	put(t, s, 3, "after")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, testOpts(t))
	defer s2.Close()
	got := contents(t, s2)
	if len(got) != 2 || got[1] != "before" || got[3] != "after" {
		t.Fatalf("after restart: %d rows %v", len(got), keysOf(got))
	}
}

func keysOf(m map[int64]string) []int64 {
	var ks []int64
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
