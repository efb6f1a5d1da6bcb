package crashstate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Result reports what a build did.
type Result struct {
	Durable int  `json:"durable"` // writes kept because a flush or FUA made them durable
	Kept    int  `json:"kept"`    // volatile writes kept
	Dropped int  `json:"dropped"` // volatile writes lost
	Torn    bool `json:"torn"`
	// Copy is how the base image was copied: "reflink",
	// "copy_file_range" or "read/write" (the last two skip holes).
	Copy string `json:"copy"`
	// Bytes is how much was written on top of the base: later writes to the
	// same units are applied once, earlier ones not at all.
	Bytes int64 `json:"bytes"`
}

// piece is the part of one entry that reaches the disk.
type piece struct {
	entry  uint64
	op     Op
	ranges []Range // absolute units
}

// Build writes to outPath (replacing any file there) the disk after a power cut described by ch: the
// raw image at basePath as it was when the log at logPath started, plus
// what ch says survived. ix must index that log (see Scan).
func Build(ctx context.Context, ix *Index, logPath, basePath, outPath string, ch Choices) (Result, error) {
	if err := ch.Validate(ix); err != nil {
		return Result{}, err
	}
	var res Result
	pieces := planPieces(ix, ch, &res)

	base, err := os.Open(basePath)
	if err != nil {
		return res, fmt.Errorf("crashstate: base image: %w", err)
	}
	defer base.Close()
	st, err := base.Stat()
	if err != nil {
		return res, fmt.Errorf("crashstate: base image: %w", err)
	}
	size := st.Size()
	maxUnit := uint64(size / Unit)
	for _, p := range pieces {
		for _, r := range p.ranges {
			if r.End > maxUnit {
				return res, fmt.Errorf("crashstate: entry %d writes bytes [%d, %d), past the end of the %d-byte base image %s (wrong image for this log?)",
					p.entry, r.Start*Unit, r.End*Unit, size, basePath)
			}
		}
	}
	log, err := os.Open(logPath)
	if err != nil {
		return res, fmt.Errorf("crashstate: log: %w", err)
	}
	defer log.Close()
	// Replace, not truncate, an old output: ext4 writes a file's delayed
	// allocations back before truncating it to zero (auto_da_alloc), which
	// made each rebuild wait for the last one's ~1 GiB to reach the disk.
	if err := os.Remove(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("crashstate: output image: %w", err)
	}
	out, err := os.OpenFile(outPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return res, fmt.Errorf("crashstate: output image: %w", err)
	}
	defer out.Close()
	if res.Copy, err = copyImage(out, base, size); err != nil {
		return res, fmt.Errorf("crashstate: copy %s to %s: %w", basePath, outPath, err)
	}

	// Apply newest first, each unit once: a unit's final content is that
	// of the last surviving write to it, so older writes to covered units
	// need not be copied at all.
	var cov coverage
	for k := len(pieces) - 1; k >= 0; k-- {
		if k%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("crashstate: build: %w", err)
			}
		}
		p := pieces[k]
		for _, r := range p.ranges {
			err := cov.claim(r.Start, r.End, func(s, e uint64) error {
				res.Bytes += int64(e-s) * Unit
				if p.op.IsDiscard() {
					return zeroRange(out, int64(s)*Unit, int64(e-s)*Unit)
				}
				src := p.op.DataOffset + int64(s-p.op.Start)*Unit
				return copyRange(out, log, int64(s)*Unit, src, int64(e-s)*Unit)
			})
			if err != nil {
				return res, fmt.Errorf("crashstate: apply entry %d: %w", p.entry, err)
			}
		}
	}
	if err := out.Close(); err != nil {
		return res, fmt.Errorf("crashstate: output image: %w", err)
	}
	return res, nil
}

// planPieces lists, in log order, what of each write before the cut
// survives under ch.
func planPieces(ix *Index, ch Choices, res *Result) []piece {
	vol := ix.Volatile(ch.Cut)
	var pieces []piece
	for i := uint64(0); i < ch.Cut; i++ {
		op := ix.Ops[i]
		if !op.IsWrite() {
			continue
		}
		_, volatile := slices.BinarySearch(vol, i)
		_, dropped := slices.BinarySearch(ch.Dropped, i)
		switch {
		case !volatile:
			res.Durable++
		case dropped:
			res.Dropped++
			continue
		case ch.Torn != nil && ch.Torn.Entry == i:
			res.Torn = true
			p := piece{entry: i, op: op}
			for _, r := range ch.Torn.Kept {
				p.ranges = append(p.ranges, Range{op.Start + r.Start, op.Start + r.End})
			}
			pieces = append(pieces, p)
			continue
		default:
			res.Kept++
		}
		pieces = append(pieces, piece{entry: i, op: op, ranges: []Range{{op.Start, op.Start + op.Units}}})
	}
	return pieces
}

// BuildAt chooses (seeded) and builds the disk after a power cut at cut.
func BuildAt(ctx context.Context, ix *Index, logPath, basePath, outPath string, cut uint64, seed int64, opts ...ChooseOption) (Choices, Result, error) {
	ch, err := Choose(ix, cut, seed, opts...)
	if err != nil {
		return ch, Result{}, err
	}
	res, err := Build(ctx, ix, logPath, basePath, outPath, ch)
	return ch, res, err
}

// Rebuild builds the disk that recorded choices describe, indexing the log
// first: the replay path of a recorded run.
func Rebuild(ctx context.Context, logPath, basePath, outPath string, ch Choices) (Result, error) {
	ix, err := ScanFile(logPath)
	if err != nil {
		return Result{}, err
	}
	return Build(ctx, ix, logPath, basePath, outPath, ch)
}

// coverage is a sparse bitmap of the units already written, in chunks of
// chunkUnits so memory follows the area the log touched, not the disk size.
type coverage struct {
	chunks map[uint64]*[chunkUnits / 64]uint64
}

const chunkUnits = 1 << 15 // 16 MiB of disk, 4 KiB of bitmap

// claim calls fn on each maximal run of units in [a, b) not yet covered,
// in ascending order, and marks [a, b) covered.
func (c *coverage) claim(a, b uint64, fn func(s, e uint64) error) error {
	if c.chunks == nil {
		c.chunks = make(map[uint64]*[chunkUnits / 64]uint64)
	}
	runStart, inRun := uint64(0), false
	var chunk *[chunkUnits / 64]uint64
	for u := a; u < b; u++ {
		if u == a || u%chunkUnits == 0 {
			chunk = c.chunks[u/chunkUnits]
			if chunk == nil {
				chunk = new([chunkUnits / 64]uint64)
				c.chunks[u/chunkUnits] = chunk
			}
		}
		bit := u % chunkUnits
		covered := chunk[bit/64]&(1<<(bit%64)) != 0
		chunk[bit/64] |= 1 << (bit % 64)
		switch {
		case !covered && !inRun:
			runStart, inRun = u, true
		case covered && inRun:
			inRun = false
			if err := fn(runStart, u); err != nil {
				return err
			}
		}
	}
	if inRun {
		return fn(runStart, b)
	}
	return nil
}

// copyImage copies src (size bytes) to the empty dst: a reflink where the
// file system shares extents (xfs, btrfs), else an in-kernel copy of the
// data extents only, so a sparse image stays sparse and costs what it holds.
func copyImage(dst, src *os.File, size int64) (string, error) {
	if err := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())); err == nil {
		return "reflink", nil
	}
	method := "copy_file_range"
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(src.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if err != nil {
			data = off // no SEEK_DATA: copy everything
		}
		hole, err := unix.Seek(int(src.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			hole = size
		}
		if err := copyRangeMethod(dst, src, data, data, hole-data, &method); err != nil {
			return method, err
		}
		off = hole
	}
	if err := dst.Truncate(size); err != nil {
		return method, fmt.Errorf("set size: %w", err)
	}
	return method, nil
}

// copyRange copies n bytes from src at srcOff to dst at dstOff.
func copyRange(dst, src *os.File, dstOff, srcOff, n int64) error {
	method := "copy_file_range"
	return copyRangeMethod(dst, src, dstOff, srcOff, n, &method)
}

// copyRangeMethod copies in the kernel with copy_file_range and falls back
// to read/write (setting *method) where the kernel refuses.
func copyRangeMethod(dst, src *os.File, dstOff, srcOff, n int64, method *string) error {
	for n > 0 && *method == "copy_file_range" {
		so, do := srcOff, dstOff
		c, err := unix.CopyFileRange(int(src.Fd()), &so, int(dst.Fd()), &do, int(min(n, 1<<30)), 0)
		if err != nil {
			if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
				*method = "read/write"
				break
			}
			return fmt.Errorf("copy_file_range: %w", err)
		}
		if c == 0 {
			return fmt.Errorf("copy_file_range: source ends at %d, %d bytes short", srcOff, n)
		}
		srcOff, dstOff, n = srcOff+int64(c), dstOff+int64(c), n-int64(c)
	}
	if n == 0 {
		return nil
	}
	if _, err := io.CopyN(io.NewOffsetWriter(dst, dstOff), io.NewSectionReader(src, srcOff, n), n); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

// zeroRange makes [off, off+n) of f read as zeros, punching a hole where the
// file system can.
func zeroRange(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	zeros := make([]byte, min(n, 1<<20))
	for n > 0 {
		c := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:c], off); err != nil {
			return fmt.Errorf("zero: %w", err)
		}
		off, n = off+c, n-c
	}
	return nil
}
