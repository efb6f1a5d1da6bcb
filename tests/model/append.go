package model

import (
	"fmt"
	"slices"
	"strings"
)

// FTxn is the function name of an append-workload transaction.
const FTxn = "txn"

// Micro-op functions of an append transaction.
const (
	MicroAppend = "append"
	MicroRead   = "r"
)

// MicroOp is one step of an append transaction: append V to key K's list,
// or read K's whole list. In the invoke a read's List is nil; in an ok
// completion it holds what the read returned ([] for an empty list).
type MicroOp struct {
	F    string  `json:"f"`
	K    int64   `json:"k"`
	V    int64   `json:"v,omitempty"`
	List []int64 `json:"list,omitempty"`
	// Read marks a completed read, so an empty List is told from one
	// not known (omitempty drops both).
	Read bool `json:"read,omitempty"`
}

func (m MicroOp) String() string {
	if m.F == MicroAppend {
		return fmt.Sprintf("append(%d, %d)", m.K, m.V)
	}
	if !m.Read {
		return fmt.Sprintf("read(%d)", m.K)
	}
	return fmt.Sprintf("read(%d) = %v", m.K, m.List)
}

// AppendState is the append table read back: every key's list, and the
// isolation level the transactions asked for (and are judged against).
type AppendState struct {
	Missing   bool              `json:"missing,omitempty"`
	Isolation string            `json:"isolation"`
	Lists     map[int64][]int64 `json:"lists"`
}

// Anomaly is a class of isolation or consistency violation the append
// checker reports.
type Anomaly string

// Cycle anomalies (Adya), by the dependency edges their cycle needs:
// ww only; ww and wr; exactly one rw; two or more rw.
const (
	G0      Anomaly = "G0"
	G1c     Anomaly = "G1c"
	GSingle Anomaly = "G-single"
	G2Item  Anomaly = "G2-item"
)

// Anomalies seen without a cycle.
const (
	// G1a: a read saw a value appended by a transaction that failed.
	G1a Anomaly = "G1a"
	// G1b: a read saw a value that its transaction later followed with
	// another append to the same key (an intermediate state).
	G1b Anomaly = "G1b"
	// Internal: a transaction's read disagrees with its own earlier reads
	// and appends of that key (it lost part of what it read, or its own
	// appends are missing or out of order).
	Internal Anomaly = "internal"
	// FuzzyRead: a transaction read a key again and saw other
	// transactions' appends that its earlier read did not have (ANSI P2,
	// a non-repeatable read): allowed at read committed and below.
	FuzzyRead Anomaly = "fuzzy-read"
	// DuplicateAppend: a value appears twice in one read.
	DuplicateAppend Anomaly = "duplicate-append"
	// GarbageRead: a read saw a value no transaction appended to that key.
	GarbageRead Anomaly = "garbage-read"
	// IncompatibleOrder: two reads of a key are not prefixes of one order.
	IncompatibleOrder Anomaly = "incompatible-order"
	// LostAppend: an acknowledged (or once observed) append is missing
	// from the key's list read back after the crashes: a durability
	// finding.
	LostAppend Anomaly = "lost-append"
)

// Cycle variants: a cycle that needs a per-process or a real-time order
// edge besides its dependency edges is named with this suffix.
const (
	SuffixProcess  = "-process"
	SuffixRealtime = "-realtime"
)

// Isolation is a level a run asks the server for (-crash.isolation) and
// judges the append workload against.
type Isolation struct {
	Name string
	// SQL is the level in SET TRANSACTION ISOLATION LEVEL.
	SQL string
	// Forbids are the cycle anomalies the level rules out (with their
	// -process and -realtime variants). Every level rules out the
	// non-cycle anomalies other than G1a/G1b, which read committed and
	// stronger also rule out.
	Forbids []Anomaly
}

// Isolations is the table of levels, strongest first.
var Isolations = []Isolation{
	{"serializable", "SERIALIZABLE", []Anomaly{G0, G1a, G1b, G1c, GSingle, G2Item, FuzzyRead}},
	{"repeatable-read", "REPEATABLE READ", []Anomaly{G0, G1a, G1b, G1c, GSingle, FuzzyRead}},
	{"snapshot-isolation", "REPEATABLE READ", []Anomaly{G0, G1a, G1b, G1c, GSingle, FuzzyRead}},
	{"read-committed", "READ COMMITTED", []Anomaly{G0, G1a, G1b, G1c}},
	{"read-uncommitted", "READ UNCOMMITTED", []Anomaly{G0}},
}

// DefaultIsolation is the default of -crash.isolation.
const DefaultIsolation = "serializable"

// LookupIsolation returns the named level.
func LookupIsolation(name string) (Isolation, error) {
	for _, l := range Isolations {
		if l.Name == name {
			return l, nil
		}
	}
	names := make([]string, len(Isolations))
	for i, l := range Isolations {
		names[i] = l.Name
	}
	return Isolation{}, fmt.Errorf("unknown isolation level %q (known: %s)", name, strings.Join(names, ", "))
}

// Forbidden reports whether the level rules out anomaly a (a cycle
// anomaly with its -process/-realtime suffix counts as its base class).
func (l Isolation) Forbidden(a Anomaly) bool {
	switch a {
	case Internal, DuplicateAppend, GarbageRead, IncompatibleOrder, LostAppend:
		return true
	}
	base := strings.TrimSuffix(strings.TrimSuffix(string(a), SuffixProcess), SuffixRealtime)
	return slices.Contains(l.Forbids, Anomaly(base))
}
