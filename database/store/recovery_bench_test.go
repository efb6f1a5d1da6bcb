package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crashrig/crashrig/database/store"
	"github.com/crashrig/crashrig/database/store/storebench"
)

// BenchmarkRecovery1GiB measures Open (scan, checks, tail handling, ready
// to serve) of a database whose journal is ~1 GiB (goal: <= 2 s). The
// database is built once and kept in the OS temp dir
// (crashrig-bench-recovery-1g-v1, rebuilt if damaged or too small) because
// building it takes about a minute; delete it to reclaim the space. Each
// iteration opens the database, then closes it again.
func BenchmarkRecovery1GiB(b *testing.B) {
	const size = 1 << 30
	dir := filepath.Join(os.TempDir(), "crashrig-bench-recovery-1g-v1")
	if _, err := storebench.Fill(b.Context(), dir, size); err != nil {
		b.Logf("rebuilding %s: %v", dir, err)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		if _, err := storebench.Fill(b.Context(), dir, size); err != nil {
			b.Fatal(err)
		}
	}
	var info store.RecoveryInfo
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := store.Open(dir, store.Options{Logf: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		info = s.Recovery()
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	st, err := os.Stat(filepath.Join(dir, info.Journal))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "journal-MiB")
	b.ReportMetric(float64(info.Chunks), "chunks")
}
