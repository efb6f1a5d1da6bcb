package store

import (
	"fmt"
	"testing"
)

// BenchmarkCommitOneRow is the store-level cost of a durable one-row
// commit (tree update, encoding, one journal append, one fsync) into a
// table of 10,000 rows, so the figures do not depend on how many
// iterations ran (the tree barely grows).
func BenchmarkCommitOneRow(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tx, _ := s.Begin(bg, true)
	_ = tx.CreateDatabase(bg, "db")
	_ = tx.CreateTable(bg, "db", kvDef)
	const prefill = 10000
	for i := 0; i < prefill; i++ {
		if err := tx.Insert(bg, "db", "kv", []any{int64(-1 - i), "benchmark-row-payload"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(bg); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := s.Begin(bg, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Insert(bg, "db", "kv", []any{int64(i), "benchmark-row-payload"}); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(bg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecovery measures Open (journal scan, CRC and hash checks,
// catalog decode, tail truncation) of a database built from 100,000 rows
// in 2,000 commits of 50 rows.
func BenchmarkRecovery(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{Logf: func(string, ...any) {}, Faults: Faults{SkipFsync: true}})
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := s.Begin(bg, true)
	_ = tx.CreateDatabase(bg, "db")
	_ = tx.CreateTable(bg, "db", kvDef)
	_ = tx.Commit(bg)
	for c := 0; c < 2000; c++ {
		tx, _ := s.Begin(bg, true)
		for i := 0; i < 50; i++ {
			k := int64(c*50 + i)
			if err := tx.Insert(bg, "db", "kv", []any{k, fmt.Sprintf("row-%d-payload", k)}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(bg); err != nil {
			b.Fatal(err)
		}
	}
	_ = s.Close()
	size := fileSize(nil, journalPath(nil, s))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s2, err := Open(dir, Options{Logf: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s2.Recovery().Chunks), "chunks")
		_ = s2.Close()
	}
	b.ReportMetric(float64(size)/(1<<20), "journal-MiB")
}
