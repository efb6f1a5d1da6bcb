// Package blocklog reads and writes block-I/O logs in the dm-log-writes
// format, as QEMU's blklogwrites driver (block/blklogwrites.c) and the Linux
// dm-log-writes target (drivers/md/dm-log-writes.c) write them.
//
// Layout (all integers little-endian), in units of the super block's sector
// size S:
//
//	sector 0:   super block: magic u64, version u64, nr_entries u64, sectorsize u32
//	then per entry:
//	  1 sector: sector u64, nr_sectors u64, flags u64, data_len u64,
//	            then data_len bytes of mark text (MARK entries), zero padding
//	  nr_sectors sectors of written data, unless the entry is a DISCARD
//
// sector and nr_sectors count S-byte sectors of the logged disk. data_len is
// the length of a mark's text, which lives in the entry's own sector; both
// writers store 0 for every other entry.
//
// QEMU 7.2 rewrites the super block only after logging a FLUSH, so entries
// logged after the last flush are in the file but not in nr_entries. Reader
// therefore reads on past nr_entries until an all-zero entry sector or the end
// of the file (see Reader). Before its first FLUSH, QEMU has written no super
// block at all (Super.Missing).
package blocklog

import (
	"fmt"
	"strings"
)

// Magic identifies a dm-log-writes log ("rhswfsj" read as little-endian bytes).
const Magic uint64 = 0x6a736677736872

// Version is the only format version either writer produces.
const Version uint64 = 1

// Sizes of the on-disk structures.
const (
	superSize = 8 + 8 + 8 + 4
	entrySize = 8 + 8 + 8 + 8
)

// Accepted sector sizes. QEMU defaults to 512 (log-sector-size); the kernel
// uses the device's logical block size. The upper bound keeps a damaged super
// block from making the reader allocate a huge sector buffer.
const (
	MinSectorSize = 512
	MaxSectorSize = 1 << 16
)

// Flags of a log entry.
type Flags uint64

// Entry flags, as in dm-log-writes.
const (
	FlagFlush   Flags = 1 << 0 // a cache flush (REQ_PREFLUSH); may carry data
	FlagFUA     Flags = 1 << 1 // forced unit access: durable on completion
	FlagDiscard Flags = 1 << 2 // a discard; no data follows the entry
	FlagMark    Flags = 1 << 3 // a user mark; text in the entry sector

	flagMask = FlagFlush | FlagFUA | FlagDiscard | FlagMark
)

// flagNames is the one table of flag names, in bit order.
var flagNames = []struct {
	flag Flags
	name string
}{
	{FlagFlush, "FLUSH"},
	{FlagFUA, "FUA"},
	{FlagDiscard, "DISCARD"},
	{FlagMark, "MARK"},
}

// String renders f as e.g. "FLUSH|FUA"; a plain write is "WRITE".
func (f Flags) String() string {
	if f == 0 {
		return "WRITE"
	}
	var parts []string
	for _, n := range flagNames {
		if f&n.flag != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := f &^ flagMask; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint64(rest)))
	}
	return strings.Join(parts, "|")
}

// Super is the log's super block.
type Super struct {
	Version uint64
	// NrEntries is the entry count the writer last recorded. QEMU updates it
	// only on FLUSH, so it can be lower than the entries in the file.
	NrEntries  uint64
	SectorSize uint32
	// Missing says the log has no super block yet: QEMU writes it at its
	// first FLUSH, so a log cut before one has entries and an all-zero (or
	// no) sector 0. The reader then assumes QEMU's default 512-byte
	// sectors and counts no entries.
	Missing bool
}

// missingSuper is what a log without a super block is read as.
var missingSuper = Super{Version: Version, SectorSize: 512, Missing: true}

// Entry is one logged request. Its data, if any, is read through Reader.Data.
type Entry struct {
	// Index is the entry's 0-based position in the log: the log position of
	// the moment just after this request completed is Index+1.
	Index uint64
	// Offset is the byte offset of the entry's header sector in the log.
	Offset int64
	// Sector and NrSectors are in units of the log's sector size.
	Sector    uint64
	NrSectors uint64
	Flags     Flags
	// Mark is a MARK entry's text (data_len bytes of the entry sector).
	Mark []byte
	// Counted says the entry is within the super block's nr_entries.
	Counted bool
}

// HasData says the entry is followed by NrSectors sectors of data.
func (e Entry) HasData() bool { return e.Flags&FlagDiscard == 0 && e.NrSectors > 0 }

// IsWrite says the entry changes the disk's contents (a data write or a discard).
func (e Entry) IsWrite() bool { return e.NrSectors > 0 && e.Flags&FlagMark == 0 }

// FormatError is a damaged or truncated log. Index and Offset locate the
// entry (Index -1: the super block).
type FormatError struct {
	Index  int64
	Offset int64
	Reason string
}

func (e *FormatError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("block log: super block: %s", e.Reason)
	}
	return fmt.Sprintf("block log: entry %d at offset %d: %s", e.Index, e.Offset, e.Reason)
}
