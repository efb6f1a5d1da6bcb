// Package chunk defines the immutable, content-addressed unit of storage.
//
// Every chunk has the same outer layout so that generic code (commit, GC,
// recovery checks) can walk the chunk graph without understanding what a
// chunk means:
//
//	kind    1 byte
//	nrefs   uvarint
//	refs    nrefs × 32-byte hashes of child chunks (zero hash = "none")
//	payload remaining bytes, interpreted according to kind
//
// The hash of a chunk is SHA-256 over its full encoding.
package chunk
