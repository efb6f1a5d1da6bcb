package crashstate

import (
	"cmp"
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
	// Bytes is how much was written after copying the base: later writes
	// to the same units are applied once, earlier ones not at all; a Scratch
	// writes only what differs from its previous state.
	Bytes int64 `json:"bytes"`
}

// piece is the part of one entry that reaches the disk.
type piece struct {
	entry  uint64
	op     Op
	ranges []Range // absolute units
}

// Build writes to outPath (replacing any file there) the disk after a power
// cut described by ch: the raw image at basePath as it was when the log at
// logPath started, plus what ch says survived. ix must index that log (see
// Scan).
func Build(ctx context.Context, ix *Index, logPath, basePath, outPath string, ch Choices) (Result, error) {
	if err := ch.Validate(ix); err != nil {
		return Result{}, err // before copying a base image for nothing
	}
	s, err := NewScratch(basePath, logPath, outPath)
	if err != nil {
		return Result{}, err
	}
	res, err := s.Build(ctx, ix, ch)
	res.Copy = s.copy
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return res, err
}

// Scratch is one output image that successive Builds turn into crash states
// of the same base image and log, rewriting only the units whose content
// differs from the previous state: after the first state, a state costs what
// the log touched, not the image size. Nothing else may write the output
// between Builds: boot checks from an overlay (qcow2 with the output as its
// backing file, or QEMU's -snapshot), never from the output itself.
type Scratch struct {
	base, log, out *os.File
	size           int64
	copy           string
	cur            []run // the output's units that differ from the base
}

// NewScratch copies the base image to outPath (replacing any file there) and
// opens the log.
func NewScratch(basePath, logPath, outPath string) (*Scratch, error) {
	s := &Scratch{}
	var err error
	if s.base, err = os.Open(basePath); err != nil {
		return nil, fmt.Errorf("crashstate: base image: %w", err)
	}
	st, err := s.base.Stat()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("crashstate: base image: %w", err)
	}
	s.size = st.Size()
	if s.log, err = os.Open(logPath); err != nil {
		s.Close()
		return nil, fmt.Errorf("crashstate: log: %w", err)
	}
	// Replace, not truncate, an old output: ext4 writes a file's delayed
	// allocations back before truncating it to zero (auto_da_alloc), which
	// made each rebuild wait for the last one's ~1 GiB to reach the disk.
	if err := os.Remove(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.Close()
		return nil, fmt.Errorf("crashstate: output image: %w", err)
	}
	if s.out, err = os.OpenFile(outPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
		s.Close()
		return nil, fmt.Errorf("crashstate: output image: %w", err)
	}
	if s.copy, err = copyImage(s.out, s.base, s.size); err != nil {
		s.Close()
		return nil, fmt.Errorf("crashstate: copy %s to %s: %w", basePath, outPath, err)
	}
	return s, nil
}

// Close closes the files; the output image stays.
func (s *Scratch) Close() error {
	var first error
	for _, f := range []*os.File{s.base, s.log, s.out} {
		if f != nil {
			if err := f.Close(); err != nil && first == nil {
				first = fmt.Errorf("crashstate: close: %w", err)
			}
		}
	}
	return first
}

// Build turns the output into the state ch describes. ix indexes the log
// (it may have grown since the last Build). Result.Copy is empty: the base
// was copied once, by NewScratch.
func (s *Scratch) Build(ctx context.Context, ix *Index, ch Choices) (Result, error) {
	if err := ch.Validate(ix); err != nil {
		return Result{}, err
	}
	var res Result
	next, err := surviving(ix, ch, &res)
	if err != nil {
		return res, err
	}
	if len(next) > 0 {
		if end := next[len(next)-1].end; end > uint64(s.size/Unit) {
			return res, fmt.Errorf("crashstate: entry %d writes up to byte %d, past the end of the %d-byte base image (wrong image for this log?)",
				next[len(next)-1].entry(), end*Unit, s.size)
		}
	}
	n := 0
	err = diffRuns(s.cur, next, func(a, b uint64, src uint64) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		res.Bytes += int64(b-a) * Unit
		switch {
		case src == 0:
			return copyRange(s.out, s.base, int64(a)*Unit, int64(a)*Unit, int64(b-a)*Unit)
		case ix.Ops[src-1].IsDiscard():
			return zeroRange(s.out, int64(a)*Unit, int64(b-a)*Unit)
		default:
			op := ix.Ops[src-1]
			return copyRange(s.out, s.log, int64(a)*Unit, op.DataOffset+int64(a-op.Start)*Unit, int64(b-a)*Unit)
		}
	})
	if err != nil {
		// The output is now neither state: rewrite every unit next time.
		s.cur = []run{{0, uint64(s.size / Unit), 1<<64 - 1}}
		return res, fmt.Errorf("crashstate: build: %w", err)
	}
	s.cur = next
	return res, nil
}

// run says units [start, end) hold the data of entry src-1.
type run struct{ start, end, src uint64 }

func (r run) entry() uint64 { return r.src - 1 }

// surviving returns, sorted, the units whose content under ch is not the
// base image's and which entry each one comes from. Surviving writes are
// claimed newest first, so each unit belongs to the last write that reached
// it.
func surviving(ix *Index, ch Choices, res *Result) ([]run, error) {
	pieces := planPieces(ix, ch, res)
	var cov coverage
	var runs []run
	for k := len(pieces) - 1; k >= 0; k-- {
		p := pieces[k]
		for _, r := range p.ranges {
			err := cov.claim(r.Start, r.End, func(s, e uint64) error {
				runs = append(runs, run{s, e, p.entry + 1})
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.start, b.start) })
	return runs, nil
}

// diffRuns calls fn(a, b, src) for each maximal piece [a, b) whose source in
// next (0: the base) differs from its source in cur. Both are sorted and
// non-overlapping.
func diffRuns(cur, next []run, fn func(a, b, src uint64) error) error {
	var bounds []uint64
	for _, rs := range [][]run{cur, next} {
		for _, r := range rs {
			bounds = append(bounds, r.start, r.end)
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	srcAt := func(rs []run, i *int, a uint64) uint64 {
		for *i < len(rs) && rs[*i].end <= a {
			*i++
		}
		if *i < len(rs) && rs[*i].start <= a {
			return rs[*i].src
		}
		return 0
	}
	var ci, ni int
	for k := 0; k+1 < len(bounds); k++ {
		a, b := bounds[k], bounds[k+1]
		if o, n := srcAt(cur, &ci, a), srcAt(next, &ni, a); o != n {
			if err := fn(a, b, n); err != nil {
				return err
			}
		}
	}
	return nil
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

// CopyImage copies the image at src to dst (replacing it) the way Build
// copies a base image: a reflink where possible, else only the data extents.
// It returns the method used. Use it to keep the data disk's content at the
// start of a log (the next base image) before QEMU starts writing.
func CopyImage(dst, src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("crashstate: copy image: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", fmt.Errorf("crashstate: copy image: %w", err)
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("crashstate: copy image: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("crashstate: copy image: %w", err)
	}
	method, err := copyImage(out, in, st.Size())
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return method, fmt.Errorf("crashstate: copy %s to %s: %w", src, dst, err)
	}
	return method, nil
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
