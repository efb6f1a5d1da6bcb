package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseValueSizes(t *testing.T) {
	for _, tc := range []struct {
		in, canon string
		want      ValueSizes
	}{
		{"small", "small", ValueSizes{}},
		{"mix:p=0.02,max=24MiB", "mix:p=0.02,min=1MiB,max=24MiB", ValueSizes{P: 0.02, Min: 1 << 20, Max: 24 << 20}},
		{"mix:max=100KiB,min=1000,p=1", "mix:p=1,min=1000B,max=100KiB", ValueSizes{P: 1, Min: 1000, Max: 100 << 10}},
	} {
		got, err := ParseValueSizes(tc.in)
		if err != nil || got != tc.want || got.String() != tc.canon {
			t.Errorf("ParseValueSizes(%q) = %+v (%q), %v; want %+v (%q)", tc.in, got, got.String(), err, tc.want, tc.canon)
		}
		if again, err := ParseValueSizes(got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), again, err)
		}
	}
	for _, bad := range []string{"large", "mix:p=0.5", "mix:max=1MiB", "mix:p=2,max=1MiB", "mix:p=0.1,max=1MiB,min=2MiB", "mix:p=0.1,max=1TiB", "mix:p=0.1,max=1MiB,p=0.2", "mix:p=0.1,max=1MiB,size=3"} {
		if _, err := ParseValueSizes(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseValueSizes(%q): want an error naming the spec, got %v", bad, err)
		}
	}
}

func TestValueSizesDraw(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	if n := (ValueSizes{}).Draw(rng); n != 0 {
		t.Fatalf("small draws %d, want 0", n)
	}
	v := ValueSizes{P: 0.5, Min: 10, Max: 20}
	large := 0
	for range 1000 {
		n := v.Draw(rng)
		if n != 0 && (n < 10 || n > 20) {
			t.Fatalf("draw %d outside [10, 20]", n)
		}
		if n != 0 {
			large++
		}
	}
	if large < 400 || large > 600 {
		t.Fatalf("%d of 1000 draws large, want about 500", large)
	}
}

func TestValueContent(t *testing.T) {
	a, b := ValueContent(7, 1001), ValueContent(7, 1001)
	if len(a) != 1001 || !bytes.Equal(a, b) {
		t.Fatalf("content not deterministic or wrong length %d", len(a))
	}
	if bytes.Equal(ValueContent(8, 1001), a) || bytes.Equal(ValueContent(7, 1002)[:1001], a) {
		t.Fatal("content must differ between keys and lengths")
	}
	sum := sha256.Sum256(a)
	if ValueDigest(7, 1001) != hex.EncodeToString(sum[:]) {
		t.Fatal("ValueDigest is not the SHA-256 of ValueContent")
	}
	if len(ValueContent(1, 0)) != 0 {
		t.Fatal("length 0 must be empty")
	}
}
