package chunk

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// HashSize is the size of a chunk address in bytes.
const HashSize = sha256.Size

// Hash is the content address of a chunk.
type Hash [HashSize]byte

// IsZero reports whether h is the zero hash, which never addresses a chunk
// and is used for "empty" (an empty tree, an absent child).
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns the lower-case hex form of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short returns an abbreviated hex form for logs.
func (h Hash) Short() string { return hex.EncodeToString(h[:6]) }

// Of returns the address of the encoded chunk data.
func Of(data []byte) Hash { return sha256.Sum256(data) }

// Kind distinguishes chunk payload formats.
type Kind byte

// Chunk kinds. Values are part of the on-disk format.
const (
	KindInvalid  Kind = 0
	KindLeaf     Kind = 1 // tree leaf: sorted key/value pairs
	KindInternal Kind = 2 // tree internal node: first keys + child refs
	KindRoot     Kind = 3 // catalog root: databases, grants
	KindDatabase Kind = 4 // one database: tables
	KindTable    Kind = 5 // one table: schema, row tree, index trees
	KindBlob     Kind = 6 // opaque bytes (e.g. serialized grant tables)
)

// Chunk is a decoded chunk.
type Chunk struct {
	Kind    Kind
	Refs    []Hash
	Payload []byte
}

// Encode serializes c.
func (c Chunk) Encode() []byte {
	buf := make([]byte, 0, 1+binary.MaxVarintLen64+len(c.Refs)*HashSize+len(c.Payload))
	buf = append(buf, byte(c.Kind))
	buf = binary.AppendUvarint(buf, uint64(len(c.Refs)))
	for _, r := range c.Refs {
		buf = append(buf, r[:]...)
	}
	return append(buf, c.Payload...)
}

// ErrCorrupt is returned when chunk bytes do not parse.
var ErrCorrupt = errors.New("chunk: corrupt encoding")

// Decode parses data. The returned Payload aliases data.
func Decode(data []byte) (Chunk, error) {
	if len(data) < 2 {
		return Chunk{}, ErrCorrupt
	}
	c := Chunk{Kind: Kind(data[0])}
	n, w := binary.Uvarint(data[1:])
	if w <= 0 || n > uint64(len(data))/HashSize {
		return Chunk{}, ErrCorrupt
	}
	p := 1 + w
	if len(data)-p < int(n)*HashSize {
		return Chunk{}, ErrCorrupt
	}
	if n > 0 {
		c.Refs = make([]Hash, n)
		for i := range c.Refs {
			copy(c.Refs[i][:], data[p:p+HashSize])
			p += HashSize
		}
	}
	c.Payload = data[p:]
	return c, nil
}

// Refs returns only the child references of an encoded chunk; it is what
// reachability walks need and avoids copying payloads.
func Refs(data []byte) ([]Hash, error) {
	c, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return c.Refs, nil
}

// RawRefs returns the child references of an encoded chunk as one slice
// of len(refs)*HashSize bytes aliasing data, for scans that look at
// millions of chunks and must not allocate per chunk.
func RawRefs(data []byte) ([]byte, error) {
	if len(data) < 2 {
		return nil, ErrCorrupt
	}
	n, w := binary.Uvarint(data[1:])
	if w <= 0 || n > uint64(len(data))/HashSize {
		return nil, ErrCorrupt
	}
	p := 1 + w
	if len(data)-p < int(n)*HashSize {
		return nil, ErrCorrupt
	}
	return data[p : p+int(n)*HashSize], nil
}

// Getter reads chunks by address.
type Getter interface {
	// Get returns the encoded chunk for h, or an error wrapping ErrNotFound.
	Get(h Hash) ([]byte, error)
}

// ErrNotFound is returned by Getters for unknown hashes.
var ErrNotFound = errors.New("chunk not found")

// NotFound returns an error wrapping ErrNotFound for h. Commit walks ask
// "is this chunk new?" for every child of every written node and get
// NotFound for most, so the message is only formatted when printed.
func NotFound(h Hash) error { return &notFoundError{h} }

type notFoundError struct{ h Hash }

func (e *notFoundError) Error() string { return ErrNotFound.Error() + ": " + e.h.Short() }
func (e *notFoundError) Unwrap() error { return ErrNotFound }
