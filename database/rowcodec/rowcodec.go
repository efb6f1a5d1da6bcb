package rowcodec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

// Value tags. Part of the on-disk format.
const (
	tagNull     byte = 0
	tagInt8     byte = 1
	tagInt16    byte = 2
	tagInt32    byte = 3
	tagInt64    byte = 4
	tagUint8    byte = 5
	tagUint16   byte = 6
	tagUint32   byte = 7
	tagUint64   byte = 8
	tagFloat32  byte = 9
	tagFloat64  byte = 10
	tagString   byte = 11
	tagBytes    byte = 12
	tagDecimal  byte = 13
	tagTime     byte = 14
	tagTimespan byte = 15
	tagJSON     byte = 16
	tagBool     byte = 17
)

// EncodeRow appends the self-describing encoding of row to buf.
func EncodeRow(buf []byte, row []any) ([]byte, error) {
	buf = binary.AppendUvarint(buf, uint64(len(row)))
	for i, v := range row {
		var err error
		if buf, err = appendValue(buf, v); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return buf, nil
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, tagNull), nil
	case int8:
		return binary.AppendVarint(append(buf, tagInt8), int64(v)), nil
	case int16:
		return binary.AppendVarint(append(buf, tagInt16), int64(v)), nil
	case int32:
		return binary.AppendVarint(append(buf, tagInt32), int64(v)), nil
	case int64:
		return binary.AppendVarint(append(buf, tagInt64), v), nil
	case int:
		return binary.AppendVarint(append(buf, tagInt64), int64(v)), nil
	case uint8:
		return binary.AppendUvarint(append(buf, tagUint8), uint64(v)), nil
	case uint16:
		return binary.AppendUvarint(append(buf, tagUint16), uint64(v)), nil
	case uint32:
		return binary.AppendUvarint(append(buf, tagUint32), uint64(v)), nil
	case uint64:
		return binary.AppendUvarint(append(buf, tagUint64), v), nil
	case uint:
		return binary.AppendUvarint(append(buf, tagUint64), uint64(v)), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(buf, tagFloat32), math.Float32bits(v)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(buf, tagFloat64), math.Float64bits(v)), nil
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(buf, tagBool, b), nil
	case string:
		return appendBytes(append(buf, tagString), []byte(v)), nil
	case []byte:
		return appendBytes(append(buf, tagBytes), v), nil
	case decimal.Decimal:
		return appendBytes(append(buf, tagDecimal), []byte(v.String())), nil
	case decimal.NullDecimal:
		if !v.Valid {
			return append(buf, tagNull), nil
		}
		return appendBytes(append(buf, tagDecimal), []byte(v.Decimal.String())), nil
	case time.Time:
		buf = binary.AppendVarint(append(buf, tagTime), v.Unix())
		return binary.AppendUvarint(buf, uint64(v.Nanosecond())), nil
	case types.Timespan:
		return binary.AppendVarint(append(buf, tagTimespan), int64(v)), nil
	case sql.JSONWrapper:
		iv, err := v.ToInterface()
		if err != nil {
			return nil, fmt.Errorf("json value: %w", err)
		}
		js, err := json.Marshal(iv)
		if err != nil {
			return nil, fmt.Errorf("json value: %w", err)
		}
		return appendBytes(append(buf, tagJSON), js), nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

// ErrCorrupt is returned for undecodable bytes.
var ErrCorrupt = errors.New("rowcodec: corrupt row")

// DecodeRow decodes a row produced by EncodeRow.
func DecodeRow(b []byte) ([]any, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, ErrCorrupt
	}
	b = b[w:]
	row := make([]any, n)
	for i := range row {
		var err error
		row[i], b, err = decodeValue(b)
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return row, nil
}

func decodeValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, ErrCorrupt
	}
	tag, b := b[0], b[1:]
	varint := func() (int64, error) {
		v, w := binary.Varint(b)
		if w <= 0 {
			return 0, ErrCorrupt
		}
		b = b[w:]
		return v, nil
	}
	uvarint := func() (uint64, error) {
		v, w := binary.Uvarint(b)
		if w <= 0 {
			return 0, ErrCorrupt
		}
		b = b[w:]
		return v, nil
	}
	bytesv := func() ([]byte, error) {
		l, err := uvarint()
		if err != nil || uint64(len(b)) < l {
			return nil, ErrCorrupt
		}
		out := b[:l:l]
		b = b[l:]
		return out, nil
	}
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagInt8, tagInt16, tagInt32, tagInt64:
		v, err := varint()
		if err != nil {
			return nil, nil, err
		}
		switch tag {
		case tagInt8:
			return int8(v), b, nil
		case tagInt16:
			return int16(v), b, nil
		case tagInt32:
			return int32(v), b, nil
		}
		return v, b, nil
	case tagUint8, tagUint16, tagUint32, tagUint64:
		v, err := uvarint()
		if err != nil {
			return nil, nil, err
		}
		switch tag {
		case tagUint8:
			return uint8(v), b, nil
		case tagUint16:
			return uint16(v), b, nil
		case tagUint32:
			return uint32(v), b, nil
		}
		return v, b, nil
	case tagFloat32:
		if len(b) < 4 {
			return nil, nil, ErrCorrupt
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), b[4:], nil
	case tagFloat64:
		if len(b) < 8 {
			return nil, nil, ErrCorrupt
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case tagBool:
		if len(b) < 1 {
			return nil, nil, ErrCorrupt
		}
		return b[0] != 0, b[1:], nil
	case tagString:
		v, err := bytesv()
		return string(v), b, err
	case tagBytes:
		v, err := bytesv()
		if err != nil {
			return nil, nil, err
		}
		return bytes.Clone(v), b, nil
	case tagDecimal:
		v, err := bytesv()
		if err != nil {
			return nil, nil, err
		}
		d, err := decimal.NewFromString(string(v))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: decimal: %v", ErrCorrupt, err)
		}
		return d, b, nil
	case tagTime:
		sec, err := varint()
		if err != nil {
			return nil, nil, err
		}
		ns, err := uvarint()
		if err != nil {
			return nil, nil, err
		}
		return time.Unix(sec, int64(ns)).UTC(), b, nil
	case tagTimespan:
		v, err := varint()
		return types.Timespan(v), b, err
	case tagJSON:
		v, err := bytesv()
		if err != nil {
			return nil, nil, err
		}
		var iv any
		if err := json.Unmarshal(v, &iv); err != nil {
			return nil, nil, fmt.Errorf("%w: json: %v", ErrCorrupt, err)
		}
		return types.JSONDocument{Val: iv}, b, nil
	default:
		return nil, nil, fmt.Errorf("%w: unknown tag %d", ErrCorrupt, tag)
	}
}

// Key encoding markers. NULL sorts before every value, as in MySQL.
const (
	keyNull    byte = 0x00
	keyNotNull byte = 0x01
)

// AppendKey appends the order-preserving encoding of v.
func AppendKey(buf []byte, v any) ([]byte, error) {
	if v == nil {
		return append(buf, keyNull), nil
	}
	buf = append(buf, keyNotNull)
	switch v := v.(type) {
	case int8:
		return appendInt(buf, int64(v)), nil
	case int16:
		return appendInt(buf, int64(v)), nil
	case int32:
		return appendInt(buf, int64(v)), nil
	case int64:
		return appendInt(buf, v), nil
	case int:
		return appendInt(buf, int64(v)), nil
	case uint8:
		return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
	case uint16:
		return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
	case uint32:
		return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
	case uint64:
		return binary.BigEndian.AppendUint64(buf, v), nil
	case uint:
		return binary.BigEndian.AppendUint64(buf, uint64(v)), nil
	case bool:
		if v {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case float32:
		return appendFloat(buf, float64(v)), nil
	case float64:
		return appendFloat(buf, v), nil
	case string:
		return appendEscaped(buf, []byte(v)), nil
	case []byte:
		return appendEscaped(buf, v), nil
	case decimal.Decimal:
		return appendDecimal(buf, v), nil
	case time.Time:
		buf = appendInt(buf, v.Unix())
		return binary.BigEndian.AppendUint32(buf, uint32(v.Nanosecond())), nil
	case types.Timespan:
		return appendInt(buf, int64(v)), nil
	default:
		return nil, fmt.Errorf("type %T cannot be part of a key", v)
	}
}

// AppendKeys appends the encodings of vs in order (a composite key).
func AppendKeys(buf []byte, vs ...any) ([]byte, error) {
	var err error
	for _, v := range vs {
		if buf, err = AppendKey(buf, v); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func appendInt(buf []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(buf, uint64(v)^(1<<63))
}

func appendFloat(buf []byte, f float64) []byte {
	if f == 0 {
		f = 0 // fold -0 into +0
	}
	bits := math.Float64bits(f)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(buf, bits)
}

// appendEscaped writes b with 0x00 escaped as 0x00 0xFF and a 0x00 0x01
// terminator, so that a string sorts before any longer string it prefixes
// and composite keys stay ordered column by column.
func appendEscaped(buf, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			buf = append(buf, 0, 0xFF)
		} else {
			buf = append(buf, c)
		}
	}
	return append(buf, 0, 1)
}

// appendDecimal encodes sign, then (for non-zero values) the decimal
// exponent and the significant digits, inverting every byte for negative
// values so that larger magnitudes sort lower.
func appendDecimal(buf []byte, d decimal.Decimal) []byte {
	switch d.Sign() {
	case 0:
		return append(buf, 1)
	case 1:
		buf = append(buf, 2)
		return appendDecimalMagnitude(buf, d)
	default:
		buf = append(buf, 0)
		start := len(buf)
		buf = appendDecimalMagnitude(buf, d.Neg())
		for i := start; i < len(buf); i++ {
			buf[i] = ^buf[i]
		}
		return buf
	}
}

func appendDecimalMagnitude(buf []byte, d decimal.Decimal) []byte {
	// d = 0.DIGITS × 10^exp with a non-zero first digit.
	digits := d.Coefficient().String()
	exp := int64(len(digits)) + int64(d.Exponent())
	digits = strings.TrimRight(digits, "0")
	buf = appendInt(buf, exp)
	buf = append(buf, digits...)
	return append(buf, 0)
}

// PrefixEnd returns the smallest key greater than every key having prefix p,
// or nil if there is none (p is all 0xFF).
func PrefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
