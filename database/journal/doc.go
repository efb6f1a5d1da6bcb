// Package journal implements the append-only journal file: framing, CRC,
// appending, and recovery scanning.
//
// File layout:
//
//	header  8 bytes magic "CRJRNL\x00\x01"
//	records ...
//
// Record layout (all integers little-endian):
//
//	length  uint32  length of body
//	crc     uint32  CRC32C (Castagnoli) over kind byte and body
//	kind    1 byte  1 = chunk, 2 = root
//	body    length bytes
//
// A chunk record's body is an encoded chunk (its hash is recomputed when
// read), so it starts with a chunk kind byte. A root record's body is the 32-byte root hash followed by a
// uint64 commit sequence number. A zero-filled tail fails the CRC check
// (CRC32C of a zero kind byte is non-zero) and an invalid kind is rejected,
// so neither is ever mistaken for data.
package journal
