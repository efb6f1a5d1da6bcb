package model

import (
	"fmt"
	"slices"
	"strings"
)

// Workload names: one per traffic generator and its checker.
const (
	Set      = "set"
	Register = "register"
	Bank     = "bank"
	DDL      = "ddl"
	GC       = "gc"
	Append   = "append"
	Users    = "users"
	Remotes  = "remotes"
)

// Workloads lists every workload.
var Workloads = []string{Set, Register, Bank, DDL, GC, Append, Users, Remotes}

// DefaultWorkloads is the default of -crash.workloads: the durability
// workloads. append (an isolation check) and users (account statements)
// run when asked for.
var DefaultWorkloads = []string{Set, Register, Bank, DDL, GC}

// CheckWorkloads reports the first name that is not a known workload.
func CheckWorkloads(names []string) error {
	for _, n := range names {
		if !slices.Contains(Workloads, n) {
			return fmt.Errorf("unknown workload %q (known: %s)", n, strings.Join(Workloads, ", "))
		}
	}
	return nil
}

// Flavor names the server under test in reports: the -crash.target name
// of a built-in target, else its spec's name.
type Flavor string

const (
	// Bundled is cmd/crashrig-sqlserver.
	Bundled Flavor = "bundled"
	// MariaDB is a stock MariaDB/MySQL server.
	MariaDB Flavor = "mariadb"
)

// ListedOnly are workloads that use one server's own features (Dolt's
// remotes): they run only on targets whose spec lists them in workloads.
var ListedOnly = []string{Remotes}

// NeedsTransactions says whether workload needs explicit transactions
// (a target whose spec has limits.no_transactions cannot run it).
func NeedsTransactions(workload string) bool {
	return workload == Bank || workload == Append
}

// FSetupTable is the function name of a setup op creating a workload table
// (set, register, bank).
const FSetupTable = "create-table"

// Client-numbered ids: set keys and bank transfer ids carry the history
// process id of the client that made them in their upper 32 bits, so ids
// are unique across clients without coordination.
const clientShift = 32

// ClientID returns the id of client's seq-th key or transfer.
func ClientID(client int, seq int64) int64 { return int64(client)<<clientShift | seq }

// DescribeID names the client and sequence number an id encodes, e.g.
// "4294967301 (client 1, #5)".
func DescribeID(id int64) string {
	return fmt.Sprintf("%d (client %d, #%d)", id, id>>clientShift, id&(1<<clientShift-1))
}
