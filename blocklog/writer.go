package blocklog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Writer appends entries to a log. It exists for tests and synthetic logs;
// real logs come from QEMU.
type Writer struct {
	w          io.WriterAt
	ss         int64
	off        int64 // where the next entry goes
	n          uint64
	superFlush bool
	buf        []byte
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithSectorSize sets the log's sector size (default 512).
func WithSectorSize(n uint32) WriterOption { return func(w *Writer) { w.ss = int64(n) } }

// SuperOnFlushOnly makes the writer behave like QEMU 7.2: the super block's
// nr_entries is rewritten after each FLUSH entry and not by Close, so
// entries after the last flush are uncounted.
func SuperOnFlushOnly() WriterOption { return func(w *Writer) { w.superFlush = true } }

// NewWriter starts a log at offset 0 of dst and writes its super block.
func NewWriter(dst io.WriterAt, opts ...WriterOption) (*Writer, error) {
	w := &Writer{w: dst, ss: 512}
	for _, o := range opts {
		o(w)
	}
	if w.ss < MinSectorSize || w.ss > MaxSectorSize || w.ss&(w.ss-1) != 0 {
		return nil, fmt.Errorf("block log writer: sector size %d is not a power of two in [%d, %d]", w.ss, MinSectorSize, MaxSectorSize)
	}
	w.buf = make([]byte, w.ss)
	w.off = w.ss
	if err := w.writeSuper(); err != nil {
		return nil, err
	}
	return w, nil
}

// SectorSize is the log's sector size.
func (w *Writer) SectorSize() uint32 { return uint32(w.ss) }

// Entries is the number of entries written so far (the current log position).
func (w *Writer) Entries() uint64 { return w.n }

// Write logs a write of data at sector (in log sectors); len(data) must be a
// multiple of the sector size. flags may add FlagFUA or FlagFlush.
func (w *Writer) Write(sector uint64, data []byte, flags Flags) error {
	if len(data) == 0 || int64(len(data))%w.ss != 0 {
		return fmt.Errorf("block log writer: write of %d bytes is not a positive multiple of %d", len(data), w.ss)
	}
	if flags&(FlagDiscard|FlagMark) != 0 {
		return fmt.Errorf("block log writer: write with flags %v", flags)
	}
	return w.append(sector, uint64(int64(len(data))/w.ss), flags, nil, data)
}

// Flush logs a cache flush without data.
func (w *Writer) Flush() error { return w.append(0, 0, FlagFlush, nil, nil) }

// Discard logs a discard of nrSectors sectors at sector.
func (w *Writer) Discard(sector, nrSectors uint64) error {
	if nrSectors == 0 {
		return fmt.Errorf("block log writer: empty discard")
	}
	return w.append(sector, nrSectors, FlagDiscard, nil, nil)
}

// Mark logs a mark with text (it must fit in the entry sector).
func (w *Writer) Mark(text string) error {
	if int64(len(text)) > w.ss-entrySize {
		return fmt.Errorf("block log writer: mark of %d bytes does not fit in a %d-byte sector", len(text), w.ss)
	}
	return w.append(0, 0, FlagMark, []byte(text), nil)
}

func (w *Writer) append(sector, nrSectors uint64, flags Flags, mark, data []byte) error {
	clear(w.buf)
	binary.LittleEndian.PutUint64(w.buf[0:], sector)
	binary.LittleEndian.PutUint64(w.buf[8:], nrSectors)
	binary.LittleEndian.PutUint64(w.buf[16:], uint64(flags))
	binary.LittleEndian.PutUint64(w.buf[24:], uint64(len(mark)))
	copy(w.buf[entrySize:], mark)
	if _, err := w.w.WriteAt(w.buf, w.off); err != nil {
		return fmt.Errorf("block log writer: entry %d: %w", w.n, err)
	}
	if len(data) > 0 {
		if _, err := w.w.WriteAt(data, w.off+w.ss); err != nil {
			return fmt.Errorf("block log writer: entry %d data: %w", w.n, err)
		}
	}
	w.off += w.ss + int64(len(data))
	w.n++
	if w.superFlush && flags&FlagFlush != 0 {
		return w.writeSuper()
	}
	return nil
}

// Close records the entry count in the super block (unless SuperOnFlushOnly).
// It does not close the destination.
func (w *Writer) Close() error {
	if w.superFlush {
		return nil
	}
	return w.writeSuper()
}

func (w *Writer) writeSuper() error {
	sb := make([]byte, w.ss)
	binary.LittleEndian.PutUint64(sb[0:], Magic)
	binary.LittleEndian.PutUint64(sb[8:], Version)
	binary.LittleEndian.PutUint64(sb[16:], w.n)
	binary.LittleEndian.PutUint32(sb[24:], uint32(w.ss))
	if _, err := w.w.WriteAt(sb, 0); err != nil {
		return fmt.Errorf("block log writer: super block: %w", err)
	}
	return nil
}

// ReadSuper reads only the super block of the log in r. On a live QEMU log
// its NrEntries is the log position just after the last completed FLUSH, a
// cheap and safe acknowledgement position (see docs/power-cut.md). QEMU may
// be rewriting it meanwhile, so it is read until two reads agree.
func ReadSuper(r io.ReaderAt) (Super, error) {
	var prev [superSize]byte
	for try := 0; ; try++ {
		var sb [superSize]byte
		n, err := r.ReadAt(sb[:], 0)
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return missingSuper, nil
		case n < superSize:
			return Super{}, &FormatError{Index: -1, Reason: fmt.Sprintf("truncated (%d of %d bytes): %v", n, superSize, err)}
		}
		if try > 0 && sb == prev || try == 5 {
			if allZero(sb[:]) {
				return missingSuper, nil
			}
			return parseSuper(sb[:])
		}
		prev = sb
	}
}
