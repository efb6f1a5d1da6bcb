package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/model"
)

// Exposure is the kind of crash that can expose a planted fault.
type Exposure string

const (
	// ByKill: a process kill suffices (the local backend), since the bug
	// does not depend on losing the page cache.
	ByKill Exposure = "kill -9"
	// ByReset: only a machine crash (a VM reset) loses what the bug left
	// unsynced.
	ByReset Exposure = "VM reset"
	// ByPowerCut: only a power cut that loses the disk's volatile write
	// cache (issue 11's powercut nemesis); a reset or a kill keeps the
	// data. No suite runs these yet.
	ByPowerCut Exposure = "power cut"
	// ByIOFault: only an injected I/O error (an fsync that fails, then a
	// crash; issue 13's iofault nemesis). No suite runs these yet.
	ByIOFault Exposure = "fsync error"
	// ByAnomalyCheck: no crash at all, but the transactional anomaly
	// checker over concurrent transactions (the append workload at
	// serializable; TestPlantedAnomalies).
	ByAnomalyCheck Exposure = "isolation anomaly"
)

// Fault is a TEST-ONLY durability bug the bundled server can plant
// (-unsafe-fault, database/store), with the run that must expose it.
type Fault struct {
	Name     string
	Exposure Exposure
	// FS and Workloads shape the exposing run; empty means the defaults.
	FS        string
	Workloads []string
	// TearTail (local backend: the chance per crash of a torn journal
	// record) and GCPause (-crash.gc-pause) widen the crash window.
	TearTail float64
	GCPause  time.Duration
}

// Faults is the table of planted faults: -crash.fault validation, the
// planted-fault suites (TestPlantedFaults, TestPlantedFaultsVM) and the
// README's table all follow it. A unit test keeps it equal to the
// server's own list (database/store.FaultNames).
var Faults = []Fault{
	// Recovery trusts a torn root record: every crash appends one.
	{Name: "accept-torn-tail", Exposure: ByKill, TearTail: 1},
	// GC deletes the old journal before the new manifest is durable; the
	// pause keeps GC in that window most of the time.
	{Name: "gc-early-delete", Exposure: ByKill, GCPause: 300 * time.Millisecond},
	{Name: "skip-fsync", Exposure: ByReset, FS: "ext4-ordered"},
	{Name: "ack-before-fsync", Exposure: ByReset, FS: "ext4-ordered"},
	// With ext4's default auto_da_alloc a truncated-and-rewritten file is
	// flushed on close, which hid this one in 9 resets on data=ordered.
	{Name: "manifest-in-place", Exposure: ByReset, FS: "ext4-noautoda", Workloads: []string{model.Set, model.GC}},
	// Commits are written to the device without a cache flush.
	{Name: "writeback-no-flush", Exposure: ByPowerCut},
	// A failed fsync is retried and the commit acknowledged.
	{Name: "retry-fsync-after-error", Exposure: ByIOFault},
	// Writers skip the write lock and the stale-snapshot check: lost updates.
	{Name: "no-write-conflict", Exposure: ByAnomalyCheck, Workloads: []string{model.Append}},
}

// FaultNames lists Faults' names.
func FaultNames() []string {
	names := make([]string, len(Faults))
	for i, f := range Faults {
		names[i] = f.Name
	}
	return names
}

// LookupFault returns the named fault.
func LookupFault(name string) (Fault, error) {
	for _, f := range Faults {
		if f.Name == name {
			return f, nil
		}
	}
	return Fault{}, fmt.Errorf("-crash.fault: unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
}
