package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/fsys"
)

// Magic starts every journal file.
var Magic = [8]byte{'C', 'R', 'J', 'R', 'N', 'L', 0, 1}

// HeaderSize is the size of the file header.
const HeaderSize = len(Magic)

// RecordHeaderSize is the size of a record's fixed prefix.
const RecordHeaderSize = 9

// MaxRecordBody bounds a record body. The reader treats a longer length
// as damage, so the writer must never produce one: CheckRecordSize is the
// writer's side of that agreement and runs before anything is written.
const MaxRecordBody = 64 << 20

// ErrRecordTooLarge is returned for a record body over MaxRecordBody.
var ErrRecordTooLarge = errors.New("journal: record body exceeds the maximum record size")

// CheckRecordSize reports whether a body of n bytes can be written as one
// record that the reader will accept.
func CheckRecordSize(n int) error {
	if n > MaxRecordBody {
		return fmt.Errorf("%w (%d bytes, limit %d)", ErrRecordTooLarge, n, MaxRecordBody)
	}
	return nil
}

// Record kinds. Part of the on-disk format.
const (
	KindChunk byte = 1
	KindRoot  byte = 2
)

// RootBodySize is the size of a root record body.
const RootBodySize = chunk.HashSize + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(kind byte, body []byte) uint32 {
	c := crc32.Update(0, castagnoli, []byte{kind})
	return crc32.Update(c, castagnoli, body)
}

// AppendRecord appends the framed record to buf.
func AppendRecord(buf []byte, kind byte, body []byte) []byte {
	var hdr [RecordHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[4:8], checksum(kind, body))
	hdr[8] = kind
	buf = append(buf, hdr[:]...)
	return append(buf, body...)
}

// RootBody encodes a root record body.
func RootBody(root chunk.Hash, seq uint64) []byte {
	b := make([]byte, RootBodySize)
	copy(b, root[:])
	binary.LittleEndian.PutUint64(b[chunk.HashSize:], seq)
	return b
}

// ParseRootBody decodes a root record body.
func ParseRootBody(b []byte) (chunk.Hash, uint64, error) {
	if len(b) != RootBodySize {
		return chunk.Hash{}, 0, fmt.Errorf("root record body has %d bytes, want %d", len(b), RootBodySize)
	}
	var h chunk.Hash
	copy(h[:], b)
	return h, binary.LittleEndian.Uint64(b[chunk.HashSize:]), nil
}

// Record is one decoded record as seen by a scan.
type Record struct {
	Offset int64 // offset of the record header in the file
	Kind   byte
	Body   []byte
}

// ScanOptions tune Scan.
type ScanOptions struct {
	// SkipCRC disables checksum verification and accepts torn records by
	// zero-padding them. It exists only to plant the accept-torn-tail
	// durability bug for the test harness; never set it otherwise.
	SkipCRC bool
}

// ScanResult summarises a scan.
type ScanResult struct {
	// ValidEnd is the offset just past the last valid record.
	ValidEnd int64
	// Size is the file size; Size > ValidEnd means a torn/garbage tail.
	Size int64
	// StopReason says why the scan stopped before Size (empty at a clean end).
	StopReason string
	// ValidAfter counts valid records found after the invalid one that
	// stopped the scan (RootsAfter of them root records; the first at
	// FirstValidAfter). Non-zero means the journal is corrupt in the
	// middle, not torn at its end. Not computed with SkipCRC.
	ValidAfter      int
	RootsAfter      int
	FirstValidAfter int64
}

// ErrBadHeader is returned when a file does not start with Magic.
var ErrBadHeader = errors.New("journal: bad file header")

// Scan reads data (a whole journal file) and calls fn for each valid
// record in order, stopping at the first invalid one. fn may retain Body.
func Scan(data []byte, opts ScanOptions, fn func(Record) error) (ScanResult, error) {
	at := func(off int64, n int) ([]byte, error) {
		return data[off:min(off+int64(n), int64(len(data)))], nil
	}
	return scan(int64(len(data)), at, opts, fn)
}

// scanWindow is how much ScanFile reads at a time; records larger than it
// grow the window for as long as they need it.
const scanWindow = 8 << 20

// ScanFile is Scan over the first size bytes of f, read in windows so a
// large journal is never held in memory at once. Body is only valid
// during the call to fn (it points into a reused buffer).
func ScanFile(f io.ReaderAt, size int64, opts ScanOptions, fn func(Record) error) (ScanResult, error) {
	var (
		buf      []byte // file bytes [bufStart, bufStart+len(buf))
		bufStart int64
		spare    []byte // the previous window's buffer, reused
		window   = int(min(scanWindow, size))
	)
	at := func(off int64, n int) ([]byte, error) {
		end := min(off+int64(n), size)
		if off >= bufStart && end <= bufStart+int64(len(buf)) {
			return buf[off-bufStart : end-bufStart], nil
		}
		// Refill from off: keep nothing of the old window (the scanner
		// only moves forward and has finished with everything before off).
		want := int(min(max(end-off, int64(window)), size-off))
		if cap(spare) < want {
			spare = make([]byte, want)
		}
		next := spare[:want]
		if _, err := f.ReadAt(next, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read journal at offset %d: %w", off, err)
		}
		spare, buf, bufStart = buf, next, off
		return buf[:end-off], nil
	}
	return scan(size, at, opts, fn)
}

// scan is the record parser shared by Scan and ScanFile. at(off, n)
// returns the n bytes at off, or fewer at the end of the file.
func scan(size int64, at func(off int64, n int) ([]byte, error), opts ScanOptions, fn func(Record) error) (ScanResult, error) {
	res := ScanResult{Size: size}
	hdr, err := at(0, HeaderSize)
	if err != nil {
		return res, err
	}
	if len(hdr) < HeaderSize || [8]byte(hdr) != Magic {
		return res, ErrBadHeader
	}
	off := int64(HeaderSize)
	res.ValidEnd = off
	for off < size {
		rec, next, reason, err := parseAt(size, at, off, opts)
		if err != nil {
			return res, err
		}
		if reason != "" {
			res.StopReason = reason
			break
		}
		if err := fn(rec); err != nil {
			return res, err
		}
		off = next
		res.ValidEnd = off
	}
	if res.StopReason != "" && !opts.SkipCRC {
		if err := countValidAfter(size, at, res.ValidEnd, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// parseAt decodes the record at off. A non-empty reason says why there is
// no valid record there; next is the offset after the record.
func parseAt(size int64, at func(off int64, n int) ([]byte, error), off int64, opts ScanOptions) (rec Record, next int64, reason string, err error) {
	rh, err := at(off, RecordHeaderSize)
	if err != nil {
		return rec, 0, "", err
	}
	if len(rh) < RecordHeaderSize {
		return rec, 0, fmt.Sprintf("torn record header at offset %d", off), nil
	}
	n := int(binary.LittleEndian.Uint32(rh[0:4]))
	sum := binary.LittleEndian.Uint32(rh[4:8])
	kind := rh[8]
	if kind != KindChunk && kind != KindRoot {
		return rec, 0, fmt.Sprintf("invalid record kind %d at offset %d", kind, off), nil
	}
	if n > MaxRecordBody {
		return rec, 0, fmt.Sprintf("implausible record length %d at offset %d", n, off), nil
	}
	if kind == KindRoot && n != RootBodySize {
		return rec, 0, fmt.Sprintf("malformed root record at offset %d", off), nil
	}
	start := off + RecordHeaderSize
	body, err := at(start, n)
	if err != nil {
		return rec, 0, "", err
	}
	if len(body) < n {
		if !opts.SkipCRC {
			return rec, 0, fmt.Sprintf("torn record body at offset %d (want %d bytes, have %d)", off, n, len(body)), nil
		}
		// Planted bug: pretend the missing bytes were zeros.
		padded := make([]byte, n)
		copy(padded, body)
		body = padded
	} else if !opts.SkipCRC && checksum(kind, body) != sum {
		return rec, 0, fmt.Sprintf("checksum mismatch at offset %d", off), nil
	}
	return Record{Offset: off, Kind: kind, Body: body}, min(start+int64(n), size), "", nil
}

// plausibleAt is a cheap test of whether a record could start at p, run
// before checking its CRC while resynchronising: inside a damaged record
// of random bytes about one offset in 8,000 has a valid kind and length,
// and checking each would read up to MaxRecordBody bytes. A chunk body
// starts with a chunk kind; a root body has its fixed size; the record
// must end at the end of the file or before a header with a valid kind
// (or a header cut off by the end of the file).
func plausibleAt(size int64, at func(off int64, n int) ([]byte, error), p int64) (bool, error) {
	rh, err := at(p, RecordHeaderSize)
	if err != nil || len(rh) < RecordHeaderSize {
		return false, err
	}
	n := int64(binary.LittleEndian.Uint32(rh[0:4]))
	start := p + RecordHeaderSize
	switch kind := rh[8]; {
	case kind == KindRoot && n == RootBodySize:
	case kind == KindChunk && n >= 2 && n <= MaxRecordBody:
		b, err := at(start, 1)
		if err != nil || len(b) < 1 {
			return false, err
		}
		if b[0] < byte(chunk.KindLeaf) || b[0] > byte(chunk.KindBlob) {
			return false, nil
		}
	default:
		return false, nil
	}
	end := start + n
	if end > size {
		return false, nil
	}
	if end+RecordHeaderSize > size {
		return true, nil
	}
	next, err := at(end, RecordHeaderSize)
	if err != nil || len(next) < RecordHeaderSize {
		return false, err
	}
	return next[8] == KindChunk || next[8] == KindRoot, nil
}

// countValidAfter looks for valid records after the bad one at bad: a
// torn tail can only be at the end of the file, so any valid record after
// it means the damage is inside data that was once complete (corruption).
// It resynchronises byte by byte and then follows the records it finds.
// A false match needs a valid kind, a plausible length and a matching
// CRC32C at the same offset by chance.
func countValidAfter(size int64, at func(off int64, n int) ([]byte, error), bad int64, res *ScanResult) error {
	for p := bad + 1; p+RecordHeaderSize <= size; {
		ok, err := plausibleAt(size, at, p)
		if err != nil {
			return err
		}
		if !ok {
			p++
			continue
		}
		rec, next, reason, err := parseAt(size, at, p, ScanOptions{})
		if err != nil {
			return err
		}
		if reason != "" {
			p++
			continue
		}
		if res.ValidAfter == 0 {
			res.FirstValidAfter = p
		}
		res.ValidAfter++
		if rec.Kind == KindRoot {
			res.RootsAfter++
		}
		p = next
	}
	return nil
}

// Writer appends records to an open journal file. It is not safe for
// concurrent use; the store serialises commits.
type Writer struct {
	f    fsys.File
	name string
	size int64
	buf  []byte
}

// NewWriter returns a Writer appending at offset size of f. The caller has
// already truncated any torn tail so that size is the end of valid data.
func NewWriter(f fsys.File, name string, size int64) *Writer {
	return &Writer{f: f, name: name, size: size}
}

// Name returns the file name (for logs and errors).
func (w *Writer) Name() string { return w.name }

// Size returns the current end offset.
func (w *Writer) Size() int64 { return w.size + int64(len(w.buf)) }

// AddChunk buffers a chunk record and returns the file offset its body
// will have once flushed (where the store reads the chunk back).
func (w *Writer) AddChunk(data []byte) int64 {
	off := w.Size() + RecordHeaderSize
	w.buf = AppendRecord(w.buf, KindChunk, data)
	return off
}

// Buffered returns the number of bytes added but not yet flushed.
func (w *Writer) Buffered() int { return len(w.buf) }

// AddRoot buffers a root record.
func (w *Writer) AddRoot(root chunk.Hash, seq uint64) {
	w.buf = AppendRecord(w.buf, KindRoot, RootBody(root, seq))
}

// Flush writes buffered records with a single write call. It does not
// fsync. On error the file may hold a partial write; callers treat that as
// fatal (fail-stop) because the in-memory and on-disk ends disagree.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err == nil && n != len(w.buf) {
		err = io.ErrShortWrite
	}
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("append to journal %s: %w", w.name, err)
	}
	return nil
}

// Sync fsyncs the file.
func (w *Writer) Sync() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync journal %s: %w", w.name, err)
	}
	return nil
}

// WriteOut writes the file out to the device without a cache flush (see
// fsys.WriteOut); a planted fault uses it instead of Sync.
func (w *Writer) WriteOut() error {
	if err := fsys.WriteOut(w.f); err != nil {
		return fmt.Errorf("write out journal %s: %w", w.name, err)
	}
	return nil
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }
