package rowcodec

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

func TestRowRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 11, 12, 123456000, time.UTC)
	row := []any{nil, int8(-3), int16(300), int32(-70000), int64(math.MinInt64), uint8(255), uint16(65535),
		uint32(1 << 31), uint64(math.MaxUint64), float32(1.5), -2.25, "héllo", []byte{0, 1, 2},
		decimal.RequireFromString("-12345.6789"), now, types.Timespan(-5000000), true,
		types.JSONDocument{Val: map[string]any{"a": []any{1.0, "x"}}}}
	b, err := EncodeRow(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRow(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range row {
		switch w := row[i].(type) {
		case decimal.Decimal:
			if !w.Equal(got[i].(decimal.Decimal)) {
				t.Fatalf("col %d: %v != %v", i, got[i], w)
			}
		case time.Time:
			if !w.Equal(got[i].(time.Time)) {
				t.Fatalf("col %d: %v != %v", i, got[i], w)
			}
		case []byte:
			if !bytes.Equal(w, got[i].([]byte)) {
				t.Fatalf("col %d", i)
			}
		case types.JSONDocument:
			s1, _ := json.Marshal(w.Val)
			s2, _ := json.Marshal(got[i].(types.JSONDocument).Val)
			if string(s1) != string(s2) {
				t.Fatalf("json %s != %s", s1, s2)
			}
		default:
			if got[i] != row[i] {
				t.Fatalf("col %d: %#v != %#v", i, got[i], row[i])
			}
		}
	}
	if _, err := DecodeRow(b[:len(b)-3]); err == nil {
		t.Fatal("truncated row decoded")
	}
}

// sortedByKey checks that encoding preserves the order of vals (given
// sorted ascending).
func sortedByKey(t *testing.T, vals []any) {
	t.Helper()
	keys := make([][]byte, len(vals))
	for i, v := range vals {
		var err error
		if keys[i], err = AppendKey(nil, v); err != nil {
			t.Fatal(err)
		}
	}
	if !sort.SliceIsSorted(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 }) {
		t.Fatalf("keys not sorted for %v", vals)
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(keys[i-1], keys[i]) {
			t.Fatalf("equal keys for %v and %v", vals[i-1], vals[i])
		}
	}
}

func TestKeyOrder(t *testing.T) {
	sortedByKey(t, []any{nil, int64(math.MinInt64), int64(-1), int64(0), int64(1), int64(math.MaxInt64)})
	sortedByKey(t, []any{nil, uint64(0), uint64(1), uint64(math.MaxUint64)})
	sortedByKey(t, []any{nil, math.Inf(-1), -1e300, -1.5, -1e-300, 0.0, 1e-300, 2.0, math.Inf(1)})
	sortedByKey(t, []any{nil, "", "\x00", "\x00\x00", "a", "a\x00", "ab", "b"})
	var ds []any
	for _, s := range []string{"-1000", "-99.5", "-10", "-1.01", "-1", "-0.001", "0", "0.001", "0.5", "1", "1.5", "9.99", "10", "10.01", "100"} {
		ds = append(ds, decimal.RequireFromString(s))
	}
	sortedByKey(t, ds)
	t0 := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	sortedByKey(t, []any{nil, t0, t0.Add(time.Nanosecond), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)})
	// Equal decimals with different scale encode identically.
	a, _ := AppendKey(nil, decimal.RequireFromString("1.50"))
	b, _ := AppendKey(nil, decimal.RequireFromString("1.5"))
	if !bytes.Equal(a, b) {
		t.Fatal("1.50 and 1.5 encode differently")
	}
}

func TestCompositeKeyOrder(t *testing.T) {
	// (a, b) pairs sorted lexicographically must stay sorted.
	pairs := [][2]any{{"a", int64(2)}, {"a", int64(10)}, {"a\x00", int64(1)}, {"ab", int64(0)}, {"b", int64(-5)}}
	var prev []byte
	for _, p := range pairs {
		k, err := AppendKeys(nil, p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("composite order broken at %v", p)
		}
		prev = k
	}
	if got := PrefixEnd([]byte{1, 0xFF}); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("PrefixEnd = %v", got)
	}
}
