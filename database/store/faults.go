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
}

// Any reports whether any fault is enabled.
func (f Faults) Any() bool {
	return f.AckBeforeFsync || f.SkipFsync || f.ManifestInPlace || f.GCEarlyDelete || f.AcceptTornTail
}

// Names returns the enabled faults' names.
func (f Faults) Names() []string {
	var n []string
	if f.AckBeforeFsync {
		n = append(n, "ack-before-fsync")
	}
	if f.SkipFsync {
		n = append(n, "skip-fsync")
	}
	if f.ManifestInPlace {
		n = append(n, "manifest-in-place")
	}
	if f.GCEarlyDelete {
		n = append(n, "gc-early-delete")
	}
	if f.AcceptTornTail {
		n = append(n, "accept-torn-tail")
	}
	return n
}

// FaultNames lists every fault switch name.
var FaultNames = []string{"ack-before-fsync", "skip-fsync", "manifest-in-place", "gc-early-delete", "accept-torn-tail"}

// Set enables the named fault.
func (f *Faults) Set(name string) error {
	switch name {
	case "ack-before-fsync":
		f.AckBeforeFsync = true
	case "skip-fsync":
		f.SkipFsync = true
	case "manifest-in-place":
		f.ManifestInPlace = true
	case "gc-early-delete":
		f.GCEarlyDelete = true
	case "accept-torn-tail":
		f.AcceptTornTail = true
	default:
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames, ", "))
	}
	return nil
}
