package blocklog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Reader reads a log entry by entry. It holds one sector in memory; entry
// data is streamed through Data or skipped (by seeking when the source is an
// io.Seeker, which is also what lets Reader check an entry's data against
// the file's size before returning the entry).
//
// Where the log ends: Next returns io.EOF
//   - at the end of the source, exactly at an entry boundary;
//   - past the super block's nr_entries, at an all-zero entry sector (the
//     unwritten rest of a pre-sized log file);
//   - past nr_entries, at an entry whose header or data runs past the end of
//     the source: the last append of a writer killed mid-write (TornTail
//     reports it; QEMU completes a request only after logging it, so the
//     guest never saw that request complete).
//
// Any other damage, and any truncation within nr_entries, is a *FormatError
// naming the entry's index and offset.
type Reader struct {
	r      io.Reader
	seeker io.Seeker
	size   int64 // -1: unknown
	off    int64 // bytes consumed from r

	super Super
	ss    int64 // sector size
	buf   []byte

	index     uint64
	cur       Entry
	remaining int64 // unread data bytes of cur
	data      io.Reader
	done      bool
	tornTail  bool
	onlyCount bool
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// CountedOnly stops the reader at the super block's nr_entries (for logs
// whose writer keeps nr_entries exact, like the kernel's dm-log-writes on
// a cleanly removed target).
func CountedOnly() ReaderOption { return func(r *Reader) { r.onlyCount = true } }

// NewReader reads and validates the super block of the log in src.
func NewReader(src io.Reader, opts ...ReaderOption) (*Reader, error) {
	r := &Reader{r: src, size: -1}
	for _, o := range opts {
		o(r)
	}
	if s, ok := src.(io.Seeker); ok {
		start, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := s.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, fmt.Errorf("block log: size: %w", err)
			}
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("block log: seek back: %w", err)
			}
			r.seeker, r.size = s, end-start
		}
	}
	var sb [superSize]byte
	n, err := io.ReadFull(src, sb[:])
	r.off = int64(n)
	switch {
	case n == 0 && err == io.EOF:
		r.super, r.done = missingSuper, true // nothing logged yet
	case err != nil:
		return nil, &FormatError{Index: -1, Reason: fmt.Sprintf("truncated (%d of %d bytes): %v", n, superSize, err)}
	case allZero(sb[:]):
		r.super = missingSuper
	default:
		if r.super, err = parseSuper(sb[:]); err != nil {
			return nil, err
		}
	}
	r.ss = int64(r.super.SectorSize)
	r.buf = make([]byte, r.ss)
	if r.done {
		return r, nil
	}
	// The rest of sector 0 is padding.
	if err := r.skip(r.ss - superSize); err != nil {
		if r.super.Missing {
			r.done = true // a partial first sector and nothing else
			return r, nil
		}
		return nil, &FormatError{Index: -1, Reason: fmt.Sprintf("truncated super block sector: %v", err)}
	}
	return r, nil
}

// parseSuper decodes and validates a super block.
func parseSuper(sb []byte) (Super, error) {
	if m := binary.LittleEndian.Uint64(sb[0:]); m != Magic {
		return Super{}, &FormatError{Index: -1, Reason: fmt.Sprintf("bad magic %#x, want %#x", m, Magic)}
	}
	s := Super{
		Version:    binary.LittleEndian.Uint64(sb[8:]),
		NrEntries:  binary.LittleEndian.Uint64(sb[16:]),
		SectorSize: binary.LittleEndian.Uint32(sb[24:]),
	}
	if s.Version != Version {
		return Super{}, &FormatError{Index: -1, Reason: fmt.Sprintf("unsupported version %d", s.Version)}
	}
	ss := s.SectorSize
	if ss < MinSectorSize || ss > MaxSectorSize || ss&(ss-1) != 0 {
		return Super{}, &FormatError{Index: -1, Reason: fmt.Sprintf("sector size %d is not a power of two in [%d, %d]", ss, MinSectorSize, MaxSectorSize)}
	}
	return s, nil
}

// Super is the log's super block.
func (r *Reader) Super() Super { return r.super }

// Offset is the byte offset in the log of the next entry Next would read
// (after the data of the current one).
func (r *Reader) Offset() int64 { return r.off + r.remaining }

// TornTail says the log ended in a partly written entry past nr_entries.
func (r *Reader) TornTail() bool { return r.tornTail }

// Next returns the next entry, skipping whatever of the current entry's data
// was not read. It returns io.EOF at the end of the log.
func (r *Reader) Next() (Entry, error) {
	if r.done {
		return Entry{}, io.EOF
	}
	counted := r.index < r.super.NrEntries
	if r.remaining > 0 {
		if err := r.skip(r.remaining); err != nil {
			return r.fail(r.cur.Index, r.cur.Offset, r.cur.Counted, fmt.Sprintf("data truncated: %v", err))
		}
		r.remaining = 0
	}
	r.data = nil
	if !counted && r.onlyCount {
		r.done = true
		return Entry{}, io.EOF
	}
	off := r.off
	n, err := io.ReadFull(r.r, r.buf)
	r.off += int64(n)
	switch {
	case err == io.EOF:
		r.done = true
		if counted {
			return Entry{}, r.errorf(off, "log ends after %d of %d counted entries", r.index, r.super.NrEntries)
		}
		return Entry{}, io.EOF
	case err != nil:
		return r.fail(r.index, off, counted, fmt.Sprintf("header truncated (%d of %d bytes): %v", n, r.ss, err))
	}
	if !counted && allZero(r.buf) {
		r.done = true
		return Entry{}, io.EOF
	}
	e := Entry{
		Index:     r.index,
		Offset:    off,
		Sector:    binary.LittleEndian.Uint64(r.buf[0:]),
		NrSectors: binary.LittleEndian.Uint64(r.buf[8:]),
		Flags:     Flags(binary.LittleEndian.Uint64(r.buf[16:])),
		Counted:   counted,
	}
	dataLen := binary.LittleEndian.Uint64(r.buf[24:])
	if reason := r.validate(e, dataLen); reason != "" {
		r.done = true
		return Entry{}, r.errorf(off, "%s", reason)
	}
	if dataLen > 0 {
		e.Mark = append([]byte(nil), r.buf[entrySize:entrySize+dataLen]...)
	}
	if e.HasData() {
		r.remaining = int64(e.NrSectors) * r.ss
		if r.size >= 0 && r.remaining > r.size-r.off {
			return r.fail(e.Index, off, counted, fmt.Sprintf("%d data bytes run past the end of the log (%d bytes)", r.remaining, r.size))
		}
	}
	r.cur = e
	r.index++
	return e, nil
}

// validate returns why e is impossible, or "".
func (r *Reader) validate(e Entry, dataLen uint64) string {
	if e.Flags&^flagMask != 0 {
		return fmt.Sprintf("unknown flags %#x", uint64(e.Flags))
	}
	if dataLen > uint64(r.ss-entrySize) {
		return fmt.Sprintf("data_len %d does not fit in the entry sector", dataLen)
	}
	if dataLen > 0 && e.Flags&FlagMark == 0 {
		return fmt.Sprintf("data_len %d on a non-mark entry", dataLen)
	}
	// Sector arithmetic must stay in int64 bytes.
	maxSectors := uint64(math.MaxInt64 / r.ss)
	if e.NrSectors > maxSectors || e.Sector > maxSectors-e.NrSectors {
		return fmt.Sprintf("sector %d + %d sectors overflows", e.Sector, e.NrSectors)
	}
	if e.Flags&FlagMark != 0 && e.NrSectors != 0 {
		return fmt.Sprintf("mark with %d sectors", e.NrSectors)
	}
	// Only flushes and marks are empty. An all-zero entry sector inside the
	// counted entries is a lost log write; reading on would shift every
	// later index.
	if e.NrSectors == 0 && e.Flags&(FlagFlush|FlagMark) == 0 {
		return fmt.Sprintf("empty %v entry", e.Flags)
	}
	return ""
}

// Data streams the current entry's data (empty for entries without data).
// A truncated end is a *FormatError within nr_entries and
// io.ErrUnexpectedEOF (with TornTail set) past them.
func (r *Reader) Data() io.Reader {
	if r.data == nil {
		r.data = &dataReader{r: r}
	}
	return r.data
}

type dataReader struct{ r *Reader }

func (d *dataReader) Read(p []byte) (int, error) {
	r := d.r
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.r.Read(p)
	r.off += int64(n)
	r.remaining -= int64(n)
	if err == io.EOF {
		if r.remaining > 0 {
			r.done = true
			if r.cur.Counted {
				return n, &FormatError{Index: int64(r.cur.Index), Offset: r.cur.Offset, Reason: fmt.Sprintf("data truncated, %d bytes missing", r.remaining)}
			}
			r.tornTail = true
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

// fail ends the log at a truncated entry: past nr_entries that is a torn
// final append (io.EOF), within them a FormatError.
func (r *Reader) fail(index uint64, off int64, counted bool, reason string) (Entry, error) {
	r.done = true
	r.remaining = 0
	if !counted {
		r.tornTail = true
		return Entry{}, io.EOF
	}
	return Entry{}, &FormatError{Index: int64(index), Offset: off, Reason: reason}
}

func (r *Reader) errorf(off int64, format string, args ...any) error {
	return &FormatError{Index: int64(r.index), Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// skip consumes n bytes of the source.
func (r *Reader) skip(n int64) error {
	if r.seeker != nil {
		if r.size >= 0 && n > r.size-r.off {
			got := r.size - r.off
			r.off = r.size
			return fmt.Errorf("%d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
		}
		if _, err := r.seeker.Seek(n, io.SeekCurrent); err != nil {
			return fmt.Errorf("seek: %w", err)
		}
		r.off += n
		return nil
	}
	got, err := io.CopyN(io.Discard, r.r, n)
	r.off += got
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%d of %d bytes: %w", got, n, err)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
