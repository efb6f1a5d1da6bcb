package crashstate

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/crashrig/crashrig/blocklog"
)

const (
	benchImage   = 1 << 30 // 1 GiB
	benchEntries = 100_000
)

// benchLog writes a 100k-entry log of 4 KiB writes at random 4 KiB-aligned
// places of a 1 GiB disk, a flush every ~10 entries (the shape of a
// database's fsync-per-commit load), and returns its path.
func benchLog(b *testing.B, dir string) string {
	b.Helper()
	path := filepath.Join(dir, "log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := blocklog.NewWriter(f, blocklog.SuperOnFlushOnly())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 4096)
	for i := 0; i < benchEntries; i++ {
		if rng.IntN(10) == 0 {
			err = w.Flush()
		} else {
			data[0], data[1] = byte(i), byte(i>>8)
			err = w.Write(rng.Uint64N(benchImage/4096)*8, data, 0)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// benchBase writes a 1 GiB base image: dense (every byte written) or sparse
// (64 MiB of data in 1 MiB extents, like a fresh file system).
func benchBase(b *testing.B, dir string, dense bool) string {
	b.Helper()
	path := filepath.Join(dir, "base.raw")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + 1)
	}
	for off := int64(0); off < benchImage; off += int64(len(chunk)) {
		if dense || off%(16<<20) == 0 {
			if _, err := f.WriteAt(chunk, off); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := f.Truncate(benchImage); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkBuild builds the state at the end of a 100k-entry log (every
// entry before the cut applied or dropped) on a 1 GiB image.
// Run: go test -run '^$' -bench Build -benchtime 3x ./crashstate
func BenchmarkBuild(b *testing.B) {
	dir := b.TempDir()
	logPath := benchLog(b, dir)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if _, err := ScanFile(logPath); err != nil {
				b.Fatal(err)
			}
		}
	})
	ix, err := ScanFile(logPath)
	if err != nil {
		b.Fatal(err)
	}
	if ix.Len() != benchEntries {
		b.Fatalf("indexed %d entries", ix.Len())
	}
	for _, dense := range []bool{false, true} {
		name := "sparse-base"
		if dense {
			name = "dense-base"
		}
		b.Run(name, func(b *testing.B) {
			sub := b.TempDir()
			base := benchBase(b, sub, dense)
			out := filepath.Join(sub, "out.raw")
			var res Result
			seed := int64(0)
			for b.Loop() {
				seed++
				_, res, err = BuildAt(context.Background(), ix, logPath, base, out, ix.Len(), seed)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Bytes)/(1<<20), "MiB-applied")
			b.Logf("%s: copy %s, %d durable, %d kept, %d dropped, torn %v", name, res.Copy, res.Durable, res.Kept, res.Dropped, res.Torn)
		})
	}
	// Successive states of one log in one Scratch image (the K extra
	// states of a cycle): each costs the units whose source changed.
	b.Run("scratch-dense-base", func(b *testing.B) {
		sub := b.TempDir()
		base := benchBase(b, sub, true)
		sc, err := NewScratch(base, logPath, filepath.Join(sub, "out.raw"))
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		flushes := ix.FlushPositions()
		rng := rand.New(rand.NewPCG(3, 4))
		var res Result
		var bytes int64
		n := 0
		for b.Loop() {
			// A flush position among the last 10% of the log.
			cut := flushes[len(flushes)-1-rng.IntN(len(flushes)/10)]
			ch, err := Choose(ix, cut, rng.Int64())
			if err != nil {
				b.Fatal(err)
			}
			if res, err = sc.Build(context.Background(), ix, ch); err != nil {
				b.Fatal(err)
			}
			bytes += res.Bytes
			n++
		}
		b.ReportMetric(float64(bytes)/float64(n)/(1<<20), "MiB-applied")
	})
}
