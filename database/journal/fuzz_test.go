package journal

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/crashrig/crashrig/database/chunk"
)

// Damage modes of FuzzRecoveryUnderDamage.
const (
	damageXor = iota
	damageZero
	damageTruncate
	damageModes
)

// fuzzJournal builds a journal of n records (every third a root record)
// whose chunk bodies are windows of payload, so the fuzzer controls their
// bytes. It returns the file and each record's [start, end) range.
func fuzzJournal(n int, payload []byte) (data []byte, recs []Record, ends []int64) {
	data = append([]byte{}, Magic[:]...)
	for i := range n {
		// Chunk bodies start with a chunk kind, as the store writes them
		// (resynchronisation relies on it).
		kind, body := KindChunk, []byte{byte(chunk.KindLeaf) + byte(i%int(chunk.KindBlob)), byte(i)}
		if i%3 == 2 {
			kind, body = KindRoot, RootBody(chunk.Of([]byte{byte(i)}), uint64(i))
		} else if len(payload) > 0 {
			from := (i * 7) % len(payload)
			body = append(body, payload[from:min(len(payload), from+1+i*5%97)]...)
		}
		recs = append(recs, Record{Offset: int64(len(data)), Kind: kind, Body: body})
		data = AppendRecord(data, kind, body)
		ends = append(ends, int64(len(data)))
	}
	return data, recs, ends
}

// FuzzRecoveryUnderDamage damages a valid journal at random and checks the
// recovery rule: the scan returns exactly the records before the damage
// (never a damaged one), and reports valid records after the damage
// (ValidAfter > 0, which makes the store refuse to start) whenever an
// undamaged record follows it; or, if the damage changed nothing, returns
// all records.
func FuzzRecoveryUnderDamage(f *testing.F) {
	f.Add(uint8(10), []byte("payload"), uint8(damageXor), uint16(40), uint8(1), byte(0x01))
	f.Add(uint8(10), []byte("payload"), uint8(damageZero), uint16(60), uint8(20), byte(0))
	f.Add(uint8(10), []byte("payload"), uint8(damageTruncate), uint16(100), uint8(0), byte(0))
	f.Add(uint8(6), []byte{}, uint8(damageXor), uint16(9), uint8(4), byte(0xff))
	// A chunk body holding a whole valid record, torn in the middle.
	embedded := AppendRecord(nil, KindRoot, RootBody(chunk.Of([]byte("x")), 9))
	f.Add(uint8(3), embedded, uint8(damageTruncate), uint16(30), uint8(0), byte(0))
	f.Fuzz(func(t *testing.T, n uint8, payload []byte, mode uint8, at uint16, length uint8, pattern byte) {
		nrec := int(n%40) + 1
		data, recs, ends := fuzzJournal(nrec, payload)
		d0 := int64(HeaderSize) + int64(at)%int64(len(data)-HeaderSize)
		d1 := min(d0+int64(length)+1, int64(len(data)))
		damaged := bytes.Clone(data)
		switch mode % damageModes {
		case damageXor:
			for i := d0; i < d1; i++ {
				damaged[i] ^= pattern | 1
			}
		case damageZero:
			clear(damaged[d0:d1])
		case damageTruncate:
			damaged, d1 = damaged[:d0], int64(len(data))
		}
		var got []Record
		res, err := Scan(damaged, ScanOptions{}, func(r Record) error {
			got = append(got, Record{Offset: r.Offset, Kind: r.Kind, Body: bytes.Clone(r.Body)})
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		// ScanFile (windowed reads) must agree with Scan.
		var fileN int
		fres, err := ScanFile(bytes.NewReader(damaged), int64(len(damaged)), ScanOptions{}, func(Record) error { fileN++; return nil })
		if err != nil || fres != res || fileN != len(got) {
			t.Fatalf("ScanFile %+v (%d records, %v) differs from Scan %+v (%d records)", fres, fileN, err, res, len(got))
		}
		if bytes.Equal(damaged, data) {
			if len(got) != nrec || res.StopReason != "" {
				t.Fatalf("undamaged journal: %d of %d records, stop %q", len(got), nrec, res.StopReason)
			}
			return
		}
		// first is the first record the damage touches (zeroing bytes
		// that were already zero touches nothing).
		first := nrec
		for i, r := range recs {
			if ends[i] > d0 && !bytes.Equal(damaged[r.Offset:min(ends[i], int64(len(damaged)))], data[r.Offset:ends[i]]) {
				first = i
				break
			}
		}
		if len(got) != first {
			t.Fatalf("damage [%d,%d) first touches record %d, scan returned %d records (stop %q)", d0, d1, first, len(got), res.StopReason)
		}
		for i, r := range got {
			if r.Offset != recs[i].Offset || r.Kind != recs[i].Kind || !bytes.Equal(r.Body, recs[i].Body) {
				t.Fatalf("record %d returned differently: %+v want %+v", i, r, recs[i])
			}
		}
		if first == nrec {
			return
		}
		// An undamaged record after the damaged one must be noticed.
		for i := first + 1; i < nrec; i++ {
			if recs[i].Offset >= d1 && ends[i] <= int64(len(damaged)) {
				if res.ValidAfter == 0 {
					t.Fatalf("damage [%d,%d) in record %d, record %d at %d is intact, but ValidAfter = 0 (stop %q)",
						d0, d1, first, i, recs[i].Offset, res.StopReason)
				}
				break
			}
		}
	})
}

// The fuzz rule's converse for the common crash case: a journal cut
// anywhere (a torn tail) is never reported as corrupt, unless a body
// holds bytes that form a valid record (then see the README).
func TestTruncationIsNeverCorruption(t *testing.T) {
	data, _, _ := fuzzJournal(30, bytes.Repeat([]byte{0xab, 0x01, 0x00}, 40))
	for cut := HeaderSize; cut < len(data); cut++ {
		res, err := Scan(data[:cut], ScanOptions{}, func(Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if res.ValidAfter != 0 {
			t.Fatalf("cut at %d: %d valid records after offset %d", cut, res.ValidAfter, res.ValidEnd)
		}
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r *bytes.Reader
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// Resynchronising through a large damaged record of random bytes must
// not read each candidate's claimed body (that was thousands of reads of
// up to 64 MiB each for a 16 MiB record).
func TestResyncThroughLargeDamagedRecordReadsLittle(t *testing.T) {
	body := make([]byte, 16<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	body[0] = byte(chunk.KindBlob)
	data := append([]byte{}, Magic[:]...)
	data = AppendRecord(data, KindChunk, []byte{byte(chunk.KindLeaf), 1})
	damagedAt := len(data) + RecordHeaderSize + len(body)/2
	data = AppendRecord(data, KindChunk, body)
	for i := range 3 {
		data = AppendRecord(data, KindRoot, RootBody(chunk.Of([]byte{byte(i)}), uint64(i)))
	}
	data[damagedAt] ^= 1
	r := &countingReaderAt{r: bytes.NewReader(data)}
	res, err := ScanFile(r, int64(len(data)), ScanOptions{}, func(Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.ValidAfter != 3 || res.RootsAfter != 3 {
		t.Fatalf("valid records after the damage: %d (%d roots), want 3", res.ValidAfter, res.RootsAfter)
	}
	if limit := 50 * int64(len(data)); r.n > limit {
		t.Fatalf("read %d MiB for a %d MiB journal", r.n>>20, len(data)>>20)
	}
	t.Logf("read %d MiB for a %d MiB journal", r.n>>20, len(data)>>20)
}
