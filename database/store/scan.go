package store

import (
	"runtime"
	"sync"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/journal"
)

// scanned is what indexJournal found in a journal.
type scanned struct {
	index    map[chunk.Hash]chunkLoc // chunks up to the last valid root record
	haveRoot bool
	root     chunk.Hash
	seq      uint64
	rootEnd  int64 // offset just past the last valid root record
	// dangling counts committed chunks that refer to a chunk not written
	// before them. Writers always put children first, so in a sound
	// journal it is zero, and "the root and every chunk's children are
	// present" proves the whole graph is without reading it again.
	dangling int
	res      journal.ScanResult
}

// recBatch is a run of consecutive journal records, copied out of the
// scan window so they can be hashed on other cores while the scan goes on.
type recBatch struct {
	data   []byte
	recs   []batchRec
	hashes []chunk.Hash
	done   chan struct{} // closed when hashes is filled
}

type batchRec struct {
	off        int64 // record offset in the file
	kind       byte
	start, end int // body within data
}

const batchBytes = 4 << 20

func (b *recBatch) body(r batchRec) []byte { return b.data[r.start:r.end] }

func (b *recBatch) hash() {
	b.hashes = b.hashes[:0]
	for _, r := range b.recs {
		var h chunk.Hash
		if r.kind == journal.KindChunk {
			h = chunk.Of(b.body(r))
		}
		b.hashes = append(b.hashes, h)
	}
	close(b.done)
}

// indexJournal scans the first size bytes of f and indexes every chunk up
// to the last valid root record. SHA-256 of every chunk dominates the
// cost, so hashing runs on all cores: the scan (read, CRC) hands batches
// to hashers, and this goroutine's indexer applies them in journal order.
// Every goroutine started here has exited when it returns.
func indexJournal(f fsys.File, size int64, skipCRC bool) (scanned, error) {
	out := scanned{
		// A record is ~2 KiB on average; presizing saves rehashing a
		// large index several times.
		index: make(map[chunk.Hash]chunkLoc, size/2048),
	}
	work := make(chan *recBatch, 4)
	ordered := make(chan *recBatch, 8) // bounds batches in flight (memory)
	free := make(chan *recBatch, 12)
	var hashers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		hashers.Go(func() {
			for b := range work {
				b.hash()
			}
		})
	}
	scanDone := make(chan error, 1)
	go func() {
		// The scan runs in its own goroutine so this one can index; it
		// closes both channels when done, which ends the hashers and the
		// indexing loop below.
		defer close(ordered)
		defer close(work)
		// Small journals get small batch buffers (recovery of a fresh
		// database should not allocate tens of MB).
		bufCap := int(min(batchBytes, size)) + 64<<10
		cur := newBatch(free, bufCap)
		send := func() {
			ordered <- cur
			work <- cur
			cur = newBatch(free, bufCap)
		}
		res, err := journal.ScanFile(f, size, journal.ScanOptions{SkipCRC: skipCRC}, func(r journal.Record) error {
			start := len(cur.data)
			cur.data = append(cur.data, r.Body...)
			cur.recs = append(cur.recs, batchRec{off: r.Offset, kind: r.Kind, start: start, end: len(cur.data)})
			if len(cur.data) >= batchBytes {
				send()
			}
			return nil
		})
		if len(cur.recs) > 0 {
			send()
		}
		out.res = res
		scanDone <- err
	}()

	// uncommitted lists chunks indexed since the last root record; they
	// are dropped again if no root record follows.
	var uncommitted []chunk.Hash
	dangling := 0
	var rootErr error
	for b := range ordered {
		<-b.done
		for i, r := range b.recs {
			body := b.body(r)
			switch r.kind {
			case journal.KindChunk:
				h := b.hashes[i]
				if _, dup := out.index[h]; !dup {
					out.index[h] = chunkLoc{off: r.off + journal.RecordHeaderSize, n: uint32(len(body))}
					uncommitted = append(uncommitted, h)
				}
				refs, err := chunk.RawRefs(body)
				if err != nil {
					dangling++
					break
				}
				for p := 0; p < len(refs); p += chunk.HashSize {
					ref := chunk.Hash(refs[p : p+chunk.HashSize])
					if _, ok := out.index[ref]; !ok && !ref.IsZero() {
						dangling++
						break
					}
				}
			case journal.KindRoot:
				h, seq, err := journal.ParseRootBody(body)
				if err != nil {
					rootErr = err
					continue
				}
				uncommitted = uncommitted[:0]
				out.dangling = dangling
				out.root, out.seq, out.haveRoot = h, seq, true
				out.rootEnd = r.off + journal.RecordHeaderSize + int64(len(body))
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	hashers.Wait()
	if err := <-scanDone; err != nil {
		return out, err
	}
	if rootErr != nil {
		return out, rootErr
	}
	for _, h := range uncommitted {
		delete(out.index, h)
	}
	return out, nil
}

func newBatch(free chan *recBatch, bufCap int) *recBatch {
	select {
	case b := <-free:
		b.data, b.recs, b.done = b.data[:0], b.recs[:0], make(chan struct{})
		return b
	default:
		return &recBatch{data: make([]byte, 0, bufCap), done: make(chan struct{})}
	}
}
