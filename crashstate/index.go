// Package crashstate builds the disk a guest would find after a power cut,
// from the disk's image at the start of a block-I/O log (package blocklog)
// and the log. The model, what it promises and its sources are in
// docs/power-cut.md.
//
// A log position N means "the first N entries had completed": entry i
// completed before position i+1. A caller cuts at a position, Choose picks
// (seeded) which unflushed writes survive, Build writes the disk, and the
// Choices (JSON) replay the same disk with Rebuild.
package crashstate

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/crashrig/crashrig/blocklog"
)

// Unit is the atomic unit of a write and the granularity of a tear: 512
// bytes, the smallest logical block size Linux and virtio-blk use.
const Unit = 512

// Op is one log entry's metadata; the data stays in the log file.
type Op struct {
	Flags blocklog.Flags
	// Start and Units are the entry's range in 512-byte units of the disk.
	Start, Units uint64
	// DataOffset is where the data starts in the log (entries with data).
	DataOffset int64
}

// IsWrite says the op changes the disk (a data write or a discard).
func (o Op) IsWrite() bool { return o.Units > 0 && o.Flags&blocklog.FlagMark == 0 }

// IsDiscard says the op is a discard.
func (o Op) IsDiscard() bool { return o.Flags&blocklog.FlagDiscard != 0 }

// IsFlush says the op is a cache flush (possibly carrying data).
func (o Op) IsFlush() bool { return o.Flags&blocklog.FlagFlush != 0 }

// IsFUA says the op's write was durable when it completed.
func (o Op) IsFUA() bool { return o.Flags&blocklog.FlagFUA != 0 }

// Index is the metadata of every entry of a log, ~40 bytes an entry.
type Index struct {
	SectorSize uint32
	Ops        []Op
	// TornTail says the log ended in a partly written entry (not in Ops).
	TornTail bool
}

// Scan indexes the log in src (a file: entry data is skipped by seeking).
func Scan(src io.ReadSeeker) (*Index, error) {
	r, err := blocklog.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("crashstate: scan log: %w", err)
	}
	ss := r.Super().SectorSize
	perSector := uint64(ss / Unit)
	ix := &Index{SectorSize: ss}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("crashstate: scan log: %w", err)
		}
		op := Op{Flags: e.Flags, Start: e.Sector * perSector, Units: e.NrSectors * perSector}
		if e.HasData() {
			op.DataOffset = e.Offset + int64(ss)
		}
		ix.Ops = append(ix.Ops, op)
	}
	ix.TornTail = r.TornTail()
	return ix, nil
}

// ScanFile indexes the log file at path.
func ScanFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("crashstate: %w", err)
	}
	defer f.Close()
	return Scan(f)
}

// Len is the number of entries: the largest position a caller may cut at.
func (ix *Index) Len() uint64 { return uint64(len(ix.Ops)) }

// FlushPositions lists the positions just after each FLUSH entry. A cut at
// such a position has nothing unflushed (unless the flush carried a write),
// so its disk is fully determined by the log.
func (ix *Index) FlushPositions() []uint64 {
	var ps []uint64
	for i, op := range ix.Ops {
		if op.IsFlush() {
			ps = append(ps, uint64(i)+1)
		}
	}
	return ps
}

// LastFlush is the index of the last FLUSH entry before position cut, or -1.
// Every write before it is durable at the cut.
func (ix *Index) LastFlush(cut uint64) int64 {
	for i := int64(min(cut, ix.Len())) - 1; i >= 0; i-- {
		if ix.Ops[i].IsFlush() {
			return i
		}
	}
	return -1
}

// Volatile lists the entries whose write a power cut at position cut may
// lose: the writes completed after the last flush before cut (including
// that flush's own data, which the flush precedes), except FUA writes.
func (ix *Index) Volatile(cut uint64) []uint64 {
	var v []uint64
	lf := ix.LastFlush(cut)
	for i := max(lf, 0); i < int64(min(cut, ix.Len())); i++ {
		if op := ix.Ops[i]; !op.IsWrite() || op.IsFUA() {
			continue
		}
		v = append(v, uint64(i))
	}
	return v
}
