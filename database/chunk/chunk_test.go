package chunk

import (
	"bytes"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	c := Chunk{Kind: KindTable, Refs: []Hash{Of([]byte("a")), {}}, Payload: []byte("payload")}
	b := c.Encode()
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != c.Kind || len(d.Refs) != 2 || d.Refs[0] != c.Refs[0] || !d.Refs[1].IsZero() || !bytes.Equal(d.Payload, c.Payload) {
		t.Fatalf("decoded %+v", d)
	}
	if Of(b) == Of(append(b, 0)) {
		t.Fatal("hash ignores content")
	}
	for cut := 0; cut < 1+1+2*HashSize; cut++ {
		if _, err := Decode(b[:cut]); err == nil {
			t.Fatalf("truncated chunk (%d bytes) decoded", cut)
		}
	}
}
