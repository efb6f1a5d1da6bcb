package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ValueSizes is the distribution of payload lengths the set workload
// writes with each key (-crash.value-size). The zero value is "small":
// no payload, today's rows of a few bytes. "mix:p=P,min=A,max=B" gives a
// payload of a length drawn uniformly from [A, B] with probability P and
// none otherwise, so a run sees multi-MiB rows now and then (issue 17:
// journal records over 64 MiB were lost after a restart, and every
// workload wrote small rows).
type ValueSizes struct {
	P        float64
	Min, Max int64
}

// SmallValues is the name of the default distribution.
const SmallValues = "small"

// DefaultLargeMin is the smallest large payload when a mix spec gives no min.
const DefaultLargeMin = 1 << 20

// sizeUnits are the suffixes a size may carry, largest first.
var sizeUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseValueSizes parses "small" or "mix:p=0.02,max=24MiB[,min=1MiB]".
func ParseValueSizes(s string) (ValueSizes, error) {
	if s == SmallValues || s == "" {
		return ValueSizes{}, nil
	}
	spec, ok := strings.CutPrefix(s, "mix:")
	if !ok {
		return ValueSizes{}, fmt.Errorf("value sizes %q: want %q or \"mix:p=0.02,max=24MiB[,min=1MiB]\"", s, SmallValues)
	}
	v := ValueSizes{Min: DefaultLargeMin}
	seen := map[string]bool{}
	for _, kv := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || seen[key] {
			return ValueSizes{}, fmt.Errorf("value sizes %q: bad or repeated item %q (want key=value with keys p, min, max)", s, kv)
		}
		seen[key] = true
		var err error
		switch key {
		case "p":
			v.P, err = strconv.ParseFloat(val, 64)
			if err == nil && (v.P <= 0 || v.P > 1) {
				err = fmt.Errorf("p must be in (0, 1]")
			}
		case "min":
			v.Min, err = parseSize(val)
		case "max":
			v.Max, err = parseSize(val)
		default:
			err = fmt.Errorf("unknown key (known: p, min, max)")
		}
		if err != nil {
			return ValueSizes{}, fmt.Errorf("value sizes %q: %s: %w", s, kv, err)
		}
	}
	switch {
	case !seen["p"] || !seen["max"]:
		return ValueSizes{}, fmt.Errorf("value sizes %q: p and max are required", s)
	case v.Min <= 0 || v.Max < v.Min:
		return ValueSizes{}, fmt.Errorf("value sizes %q: want 0 < min <= max, got min=%s max=%s", s, FormatSize(v.Min), FormatSize(v.Max))
	}
	return v, nil
}

func parseSize(s string) (int64, error) {
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("size %q: want a whole number of B, KiB, MiB or GiB", s)
			}
			return n * u.n, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a whole number of B, KiB, MiB or GiB", s)
	}
	return n, nil
}

// FormatSize renders n in the largest unit that divides it.
func FormatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// Small reports whether v is the default: no payloads.
func (v ValueSizes) Small() bool { return v.P == 0 }

// String is the canonical spec; ParseValueSizes(v.String()) == v.
func (v ValueSizes) String() string {
	if v.Small() {
		return SmallValues
	}
	return fmt.Sprintf("mix:p=%s,min=%s,max=%s", strconv.FormatFloat(v.P, 'g', -1, 64), FormatSize(v.Min), FormatSize(v.Max))
}

// Draw picks a payload length (0: none).
func (v ValueSizes) Draw(rng *rand.Rand) int64 {
	if v.Small() || rng.Float64() >= v.P {
		return 0
	}
	return v.Min + rng.Int64N(v.Max-v.Min+1)
}

// ValueContent is the payload of key k with length n: pseudo-random bytes
// seeded by (k, n), so a checker can recompute what any row must hold from
// the op that wrote it, and a row holding another row's bytes, zeros or a
// truncated value is caught.
func ValueContent(k, n int64) []byte {
	rng := rand.NewPCG(uint64(k), uint64(n))
	b := make([]byte, (n+7)&^7)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// ValueDigest is the lowercase hex SHA-256 of ValueContent(k, n), as
// SQL's SHA2(v, 256) returns it.
func ValueDigest(k, n int64) string {
	sum := sha256.Sum256(ValueContent(k, n))
	return hex.EncodeToString(sum[:])
}

// StoredValue is what a snapshot read of a payload column: its length
// and SHA-256 (computed by the server, so the values need not travel).
type StoredValue struct {
	Len    int64  `json:"len"`
	SHA256 string `json:"sha256"`
}
