// Package storebench builds large databases for benchmarks and the bench
// scripts (recovery of a journal of a given size).
package storebench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/crashrig/crashrig/database/store"
)

// Table is the table Fill writes into (database "bench").
var Table = &store.Table{
	Name: "t",
	Columns: []store.Column{
		{Name: "id", Type: "bigint", PrimaryKey: true},
		{Name: "k", Type: "bigint"},
		{Name: "v", Type: "varchar(2000)", Nullable: true},
	},
	PK: []int{0},
}

// Fill creates the database in dir and writes until its journal holds at
// least size bytes: rows of ~1 KiB of pseudo-random text, 500 per commit,
// plus every 10th commit a delete of up to 100 random existing rows so the
// journal also holds garbage (superseded tree nodes), as a real one does.
// Commits are not fsynced (fault SkipFsync); the store is closed cleanly,
// which fsyncs once. It returns the journal size. A dir that already
// holds the bench database is left alone if its journal is big enough and
// refused otherwise (Fill does not resume).
func Fill(ctx context.Context, dir string, size int64) (int64, error) {
	s, err := store.Open(dir, store.Options{Logf: func(string, ...any) {}, Faults: store.Faults{SkipFsync: true}})
	if err != nil {
		return 0, fmt.Errorf("fill: %w", err)
	}
	defer s.Close()
	if _, ok := s.Head().Catalog.DB("bench"); ok {
		jp := filepath.Join(dir, s.JournalName())
		st, err := os.Stat(jp)
		if err != nil {
			return 0, fmt.Errorf("fill: %w", err)
		}
		if st.Size() < size {
			return 0, fmt.Errorf("fill: %s already holds a smaller bench database (%d bytes); remove it first", dir, st.Size())
		}
		return st.Size(), nil
	}
	{
		tx, err := s.Begin(ctx, true)
		if err != nil {
			return 0, fmt.Errorf("fill: %w", err)
		}
		if err := errors.Join(tx.CreateDatabase(ctx, "bench"), tx.CreateTable(ctx, "bench", Table)); err != nil {
			tx.Rollback()
			return 0, fmt.Errorf("fill: create table: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("fill: %w", err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	payload := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, 1000)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	next := int64(1)
	for c := 0; ; c++ {
		jp := filepath.Join(dir, s.JournalName())
		st, err := os.Stat(jp)
		if err != nil {
			return 0, fmt.Errorf("fill: %w", err)
		}
		if st.Size() >= size {
			return st.Size(), nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		tx, err := s.Begin(ctx, true)
		if err != nil {
			return 0, fmt.Errorf("fill: %w", err)
		}
		for i := 0; i < 500; i++ {
			if err := tx.Insert(ctx, "bench", "t", []any{next, rng.Int64N(1 << 40), payload()}); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("fill: insert %d: %w", next, err)
			}
			next++
		}
		if c%10 == 9 {
			for i := 0; i < 100; i++ {
				id := rng.Int64N(next-1) + 1
				if err := tx.Delete(ctx, "bench", "t", []any{id, nil, nil}); err != nil && !errors.Is(err, store.ErrRowNotFound) {
					tx.Rollback()
					return 0, fmt.Errorf("fill: delete %d: %w", id, err)
				}
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("fill: commit: %w", err)
		}
	}
}
