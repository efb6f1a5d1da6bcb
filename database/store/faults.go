package store

import (
	"fmt"
	"strings"
)

// Faults plant known classes of durability bugs. They exist only so that
// the crash harness can prove it detects them; every one of them makes the
// store unsafe. All are off by default.
type Faults struct {
	// AckBeforeFsync returns from commit before the journal is fsynced;
	// a background goroutine fsyncs later.
	AckBeforeFsync bool
	// SkipFsync never fsyncs the journal on commit.
	SkipFsync bool
	// ManifestInPlace writes the manifest by truncating and rewriting it
	// in place, without temp file, rename or fsync.
	ManifestInPlace bool
	// GCEarlyDelete removes the old journal before the new manifest is
	// durable.
	GCEarlyDelete bool
	// AcceptTornTail makes recovery skip CRC checks, zero-pad torn
	// records and keep the tail instead of truncating it.
	AcceptTornTail bool
	// NoWriteConflict lets a write transaction commit over a head that
	// moved since its snapshot: no write lock, no stale-snapshot check, so
	// concurrent read-modify-write transactions lose updates.
	NoWriteConflict bool
	// WritebackNoFlush makes commit write the journal out to the device
	// (sync_file_range: wait before, write, wait after) and acknowledge
	// without fdatasync, so the disk's volatile write cache is never
	// flushed.
	WritebackNoFlush bool
	// RetryFsyncAfterError retries a failed commit fsync and acknowledges
	// if the retry succeeds, instead of failing stop (PostgreSQL's
	// fsync-retry bug: the kernel may have dropped the dirty pages the
	// failed fsync covered, so the retry has nothing left to write).
	RetryFsyncAfterError bool
}

// faultSwitches is the one table of fault names: the flag's values, the
// names logged and FaultNames all come from it.
var faultSwitches = []struct {
	name string
	on   func(*Faults) *bool
}{
	{"ack-before-fsync", func(f *Faults) *bool { return &f.AckBeforeFsync }},
	{"skip-fsync", func(f *Faults) *bool { return &f.SkipFsync }},
	{"manifest-in-place", func(f *Faults) *bool { return &f.ManifestInPlace }},
	{"gc-early-delete", func(f *Faults) *bool { return &f.GCEarlyDelete }},
	{"accept-torn-tail", func(f *Faults) *bool { return &f.AcceptTornTail }},
	{"no-write-conflict", func(f *Faults) *bool { return &f.NoWriteConflict }},
	{"writeback-no-flush", func(f *Faults) *bool { return &f.WritebackNoFlush }},
	{"retry-fsync-after-error", func(f *Faults) *bool { return &f.RetryFsyncAfterError }},
}

// FaultNames lists every fault switch name.
var FaultNames = func() []string {
	names := make([]string, len(faultSwitches))
	for i, sw := range faultSwitches {
		names[i] = sw.name
	}
	return names
}()

// Any reports whether any fault is enabled.
func (f Faults) Any() bool { return len(f.Names()) > 0 }

// Names returns the enabled faults' names.
func (f Faults) Names() []string {
	var n []string
	for _, sw := range faultSwitches {
		if *sw.on(&f) {
			n = append(n, sw.name)
		}
	}
	return n
}

// Set enables the named fault.
func (f *Faults) Set(name string) error {
	for _, sw := range faultSwitches {
		if sw.name == name {
			*sw.on(f) = true
			return nil
		}
	}
	return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames, ", "))
}
