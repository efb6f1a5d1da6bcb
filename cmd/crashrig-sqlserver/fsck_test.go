package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/store"
)

// corruptDataDir makes a database of 10 one-row commits and flips a byte
// in a chunk record of the 5th, so valid commits follow the damage.
func corruptDataDir(t *testing.T) (dir, jp string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	st, err := store.Open(dir, store.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	def := &store.Table{Name: "t", Columns: []store.Column{{Name: "k", Type: "bigint"}, {Name: "v", Type: "text"}}, PK: []int{0}}
	if err := tx.CreateDatabase(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateTable(ctx, "db", def); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for k := int64(1); k <= 10; k++ {
		tx, err := st.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Insert(ctx, "db", "t", []any{k, strings.Repeat("x", 100)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	jp = filepath.Join(dir, st.JournalName())
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	var roots int
	var target int64
	if _, err := journal.Scan(data, journal.ScanOptions{}, func(r journal.Record) error {
		if r.Kind == journal.KindRoot {
			roots++
		} else if roots == 6 && target == 0 {
			target = r.Offset + journal.RecordHeaderSize + int64(len(r.Body))/2
		}
		return nil
	}); err != nil || target == 0 {
		t.Fatalf("scan: %v", err)
	}
	data[target] ^= 0x10
	if err := os.WriteFile(jp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, jp
}

func TestFsckReportsThenRevivesOnlyWithFlag(t *testing.T) {
	dir, jp := corruptDataDir(t)
	before, _ := os.ReadFile(jp)
	var out, errOut bytes.Buffer
	if code := runFsck([]string{"-data-dir", dir}, &out, &errOut); code != 1 {
		t.Fatalf("fsck of a corrupt dir exited %d, want 1\n%s%s", code, &out, &errOut)
	}
	if !strings.Contains(out.String(), "CORRUPT") || !strings.Contains(errOut.String(), "-revive-with-data-loss") {
		t.Fatalf("report lacks the finding or the way out:\n%s%s", &out, &errOut)
	}
	if after, _ := os.ReadFile(jp); !bytes.Equal(before, after) {
		t.Fatal("fsck without -revive-with-data-loss changed the journal")
	}
	if _, err := store.Open(dir, store.Options{Logf: t.Logf}); err == nil {
		t.Fatal("server store opened a corrupt journal")
	}
	out.Reset()
	errOut.Reset()
	logPath := filepath.Join(t.TempDir(), "fsck.log")
	if code := runFsck([]string{"-data", dir, "-revive-with-data-loss", "-log-file", logPath}, &out, &errOut); code != 0 {
		t.Fatalf("revive exited %d\n%s%s", code, &out, &errOut)
	}
	logText, _ := os.ReadFile(logPath)
	if !strings.Contains(string(logText), "DATA LOSS") {
		t.Fatalf("log file lacks the loss: %q", logText)
	}
	losses, _ := filepath.Glob(filepath.Join(dir, store.LossFilePrefix+"*"))
	if len(losses) != 1 {
		t.Fatalf("loss files %v", losses)
	}
	st, err := store.Open(dir, store.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("open after revive: %v", err)
	}
	defer st.Close()
	if seq := st.Head().Seq; seq != 6 {
		t.Fatalf("revived at seq %d, want 6 (init, schema, 4 rows before the damage)", seq)
	}
	out.Reset()
	if code := runFsck([]string{"-data-dir", dir}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "clean") {
		t.Fatalf("fsck after revive exited %d:\n%s", code, &out)
	}
}

func TestFsckRefusesMissingManifest(t *testing.T) {
	dir, _ := corruptDataDir(t)
	if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := runFsck([]string{"-data-dir", dir, "-revive-with-data-loss"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no MANIFEST") {
		t.Fatalf("fsck without manifest exited %d:\n%s%s", code, &out, &errOut)
	}
}
