package journal

import (
	"bytes"
	"testing"

	"github.com/crashrig/crashrig/database/chunk"
)

func build(t *testing.T) (data []byte, lastStart int) {
	t.Helper()
	data = append([]byte{}, Magic[:]...)
	data = AppendRecord(data, KindChunk, []byte("hello chunk"))
	data = AppendRecord(data, KindRoot, RootBody(chunk.Of([]byte("r1")), 1))
	data = AppendRecord(data, KindChunk, bytes.Repeat([]byte{7}, 100))
	lastStart = len(data)
	data = AppendRecord(data, KindRoot, RootBody(chunk.Of([]byte("r2")), 2))
	return data, lastStart
}

func scanAll(t *testing.T, data []byte, opts ScanOptions) ([]Record, ScanResult) {
	t.Helper()
	var recs []Record
	res, err := Scan(data, opts, func(r Record) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return recs, res
}

func TestRoundTrip(t *testing.T) {
	data, _ := build(t)
	recs, res := scanAll(t, data, ScanOptions{})
	if len(recs) != 4 || res.ValidEnd != int64(len(data)) || res.StopReason != "" {
		t.Fatalf("got %d records, end %d/%d, stop %q", len(recs), res.ValidEnd, len(data), res.StopReason)
	}
	if string(recs[0].Body) != "hello chunk" || recs[0].Kind != KindChunk {
		t.Fatalf("record 0 = %+v", recs[0])
	}
	h, seq, err := ParseRootBody(recs[3].Body)
	if err != nil || seq != 2 || h != chunk.Of([]byte("r2")) {
		t.Fatalf("root = %v %d %v", h, seq, err)
	}
}

func TestCRCDetectsEveryBitFlip(t *testing.T) {
	data, last := build(t)
	for i := last; i < len(data); i++ {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(data)
			c[i] ^= 1 << bit
			recs, res := scanAll(t, c, ScanOptions{})
			// The flipped record must never be returned as valid.
			if len(recs) != 3 || res.ValidEnd != int64(last) {
				t.Fatalf("flip byte %d bit %d: %d records, end %d (want 3, %d)", i, bit, len(recs), res.ValidEnd, last)
			}
		}
	}
}

func TestTornTailAtEveryOffset(t *testing.T) {
	data, last := build(t)
	for cut := last; cut < len(data); cut++ {
		recs, res := scanAll(t, data[:cut], ScanOptions{})
		if len(recs) != 3 || res.ValidEnd != int64(last) {
			t.Fatalf("cut at %d: %d records, valid end %d, want 3 and %d", cut, len(recs), res.ValidEnd, last)
		}
		if cut > last && res.StopReason == "" {
			t.Fatalf("cut at %d: no stop reason", cut)
		}
	}
}

func TestZeroFilledTail(t *testing.T) {
	data, _ := build(t)
	for _, n := range []int{1, RecordHeaderSize, 100, 4096} {
		c := append(bytes.Clone(data), make([]byte, n)...)
		recs, res := scanAll(t, c, ScanOptions{})
		if len(recs) != 4 || res.ValidEnd != int64(len(data)) {
			t.Fatalf("zero tail %d: %d records, end %d", n, len(recs), res.ValidEnd)
		}
	}
}

func TestSkipCRCAcceptsGarbage(t *testing.T) {
	// The planted accept-torn-tail bug: a torn root record is accepted.
	data, last := build(t)
	torn := data[:last+RecordHeaderSize+4]
	recs, _ := scanAll(t, torn, ScanOptions{SkipCRC: true})
	if len(recs) != 4 {
		t.Fatalf("SkipCRC returned %d records, want the torn one too", len(recs))
	}
}

func TestBadHeader(t *testing.T) {
	if _, err := Scan([]byte("nope"), ScanOptions{}, func(Record) error { return nil }); err != ErrBadHeader {
		t.Fatalf("err = %v", err)
	}
}

// TestScanFileMatchesScan checks the windowed file scanner against the
// in-memory one on a journal larger than the window, with records that
// straddle window boundaries, whole and cut at several points.
func TestScanFileMatchesScan(t *testing.T) {
	data := append([]byte{}, Magic[:]...)
	for i := 0; len(data) < 3*scanWindow; i++ {
		body := bytes.Repeat([]byte{byte(i)}, 1+(i*7919)%(scanWindow/3))
		data = AppendRecord(data, KindChunk, body)
		data = AppendRecord(data, KindRoot, RootBody(chunk.Of(body), uint64(i)))
	}
	type rec struct {
		off  int64
		kind byte
		sum  chunk.Hash
	}
	collect := func(scan func(fn func(Record) error) (ScanResult, error)) ([]rec, ScanResult) {
		var out []rec
		res, err := scan(func(r Record) error {
			out = append(out, rec{r.Offset, r.Kind, chunk.Of(r.Body)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, res
	}
	for _, cut := range []int{len(data), len(data) - 1, scanWindow + 5, 2*scanWindow - 3, HeaderSize + 4} {
		d := data[:cut]
		want, wres := collect(func(fn func(Record) error) (ScanResult, error) { return Scan(d, ScanOptions{}, fn) })
		got, gres := collect(func(fn func(Record) error) (ScanResult, error) {
			return ScanFile(bytes.NewReader(d), int64(len(d)), ScanOptions{}, fn)
		})
		if wres != gres || len(want) != len(got) {
			t.Fatalf("cut %d: Scan %+v (%d records), ScanFile %+v (%d records)", cut, wres, len(want), gres, len(got))
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("cut %d: record %d differs: %+v vs %+v", cut, i, want[i], got[i])
			}
		}
	}
}
