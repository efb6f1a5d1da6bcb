package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/database/journal"
)

// corruptMiddle writes 20 commits, closes the store and flips one byte in
// the body of the record just before the 10th root record after setup. It
// returns the journal path, its bytes before the flip and the keys
// committed before the damaged commit.
func corruptMiddle(t *testing.T, dir string) (jp string, orig []byte, kept int) {
	t.Helper()
	s := setup(t, dir, testOpts(t))
	for k := int64(1); k <= 20; k++ {
		put(t, s, k, strings.Repeat("v", 50))
	}
	jp = journalPath(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	var roots []int64
	var prev journal.Record
	var target int64
	_, err = journal.Scan(orig, journal.ScanOptions{}, func(r journal.Record) error {
		if r.Kind == journal.KindRoot {
			roots = append(roots, r.Offset)
			// Root records: [0] init, [1] setup, [2] key 1, ... [11] key 10.
			if len(roots) == 12 {
				target = prev.Offset + journal.RecordHeaderSize + int64(len(prev.Body))/2
			}
		}
		prev = r
		return nil
	})
	if err != nil || target == 0 {
		t.Fatalf("scan: %v (roots %d)", err, len(roots))
	}
	damaged := bytes.Clone(orig)
	damaged[target] ^= 0x40
	if err := os.WriteFile(jp, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	return jp, orig, 9
}

// Issue 17 item 3: one flipped byte with valid commits after it used to be
// cut off as a torn tail (and the cut fsynced). It must be a refusal.
func TestMidJournalCorruptionRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	jp, orig, _ := corruptMiddle(t, dir)
	damaged, _ := os.ReadFile(jp)
	_, err := Open(dir, testOpts(t))
	var ce *CorruptJournalError
	if !errors.As(err, &ce) {
		t.Fatalf("open of a journal corrupt in the middle: %v, want CorruptJournalError", err)
	}
	if ce.ValidAfter == 0 || ce.RootsAfter != 11 || ce.Offset <= 0 || ce.Offset >= int64(len(orig)) {
		t.Fatalf("error fields %+v (want 11 commits after the damage)", ce)
	}
	for _, want := range []string{"offset", "valid records", filepath.Base(jp)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	now, _ := os.ReadFile(jp)
	if !bytes.Equal(now, damaged) {
		t.Fatalf("refused open changed the journal (%d -> %d bytes)", len(damaged), len(now))
	}
}

func TestFsckReportsAndRevivesOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	jp, _, kept := corruptMiddle(t, dir)
	damaged, _ := os.ReadFile(jp)
	r, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Corrupt() || r.RootsAfter != 11 || !strings.Contains(r.String(), "CORRUPT") {
		t.Fatalf("check report: %+v\n%s", r, r)
	}
	if now, _ := os.ReadFile(jp); !bytes.Equal(now, damaged) {
		t.Fatal("Check changed the journal")
	}
	rv, err := Revive(dir, time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	lost, err := os.ReadFile(rv.TailFile)
	if err != nil || !bytes.Equal(lost, damaged[r.GoodEnd:]) {
		t.Fatalf("tail copy %s: %v (%d bytes, want %d)", rv.TailFile, err, len(lost), len(damaged)-int(r.GoodEnd))
	}
	text, err := os.ReadFile(rv.LossFile)
	if err != nil || !strings.Contains(string(text), "discarded") {
		t.Fatalf("loss file %s: %v %q", rv.LossFile, err, text)
	}
	s := open(t, dir, testOpts(t))
	defer s.Close()
	got := contents(t, s)
	if len(got) != kept {
		t.Fatalf("after revive %d rows, want the %d committed before the damage", len(got), kept)
	}
	for k := int64(1); k <= int64(kept); k++ {
		if _, ok := got[k]; !ok {
			t.Fatalf("row %d committed before the damage is missing", k)
		}
	}
	// The evidence stays: the server does not remove the loss files.
	for _, p := range []string{rv.TailFile, rv.LossFile} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s after open: %v", p, err)
		}
	}
}

// A torn tail stays a torn tail: recovery discards it and starts.
func TestTornTailIsNotCorruption(t *testing.T) {
	dir := t.TempDir()
	s := setup(t, dir, testOpts(t))
	put(t, s, 1, "one")
	jp := journalPath(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A partial commit: a whole chunk record, then a torn one.
	rec := journal.AppendRecord(nil, journal.KindChunk, bytes.Repeat([]byte{3}, 200))
	if _, err := f.Write(append(rec, rec[:100]...)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s2 := open(t, dir, testOpts(t))
	defer s2.Close()
	if got := contents(t, s2); got[1] != "one" || s2.Recovery().TornBytes == 0 {
		t.Fatalf("rows %v, recovery %+v", got, s2.Recovery())
	}
}
