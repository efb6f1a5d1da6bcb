package blocklog

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, must
// end every log with io.EOF or a *FormatError, and must return entries in
// index order whose data length matches their header.
func FuzzReader(f *testing.F) {
	good, _ := sampleLog(f)
	f.Add(good)
	f.Add(good[:700])
	tail, _ := sampleLog(f, SuperOnFlushOnly())
	f.Add(tail)
	big, _ := sampleLog(f, WithSectorSize(4096))
	f.Add(big)
	f.Fuzz(checkReaderInput)
}

// checkReaderInput reads b as a log, seekable and streaming.
func checkReaderInput(t *testing.T, b []byte) {
	for _, src := range []io.Reader{bytes.NewReader(b), plainReader{bytes.NewReader(b)}} {
		r, err := NewReader(src)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("NewReader: %v is not a FormatError", err)
			}
			return
		}
		ss := int64(r.Super().SectorSize)
		for want := uint64(0); ; want++ {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Index != int64(want) {
					t.Fatalf("Next: %v, want a FormatError for entry %d", err, want)
				}
				break
			}
			if e.Index != want {
				t.Fatalf("entry index %d, want %d", e.Index, want)
			}
			n, err := io.Copy(io.Discard, r.Data())
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) && !(err == io.ErrUnexpectedEOF && r.TornTail()) {
					t.Fatalf("Data: %v", err)
				}
				break
			}
			if e.HasData() && n != int64(e.NrSectors)*ss || !e.HasData() && n != 0 {
				t.Fatalf("entry %d: %d data bytes for %d sectors (%v)", e.Index, n, e.NrSectors, e.Flags)
			}
		}
	}
}
