package model

// DDL object kinds.
const (
	KindTable    = "table"
	KindDatabase = "database"
	// KindUndropDatabase is a database that is dropped and brought back
	// (targets whose spec has an undrop statement, e.g. Dolt's
	// dolt_undrop()).
	KindUndropDatabase = "database-undrop"
)

// UndropSQL stands for the target's undrop statement in Lifecycles; the
// workload runs the spec's statement in its place.
const UndropSQL = "UNDROP DATABASE %s"

// FDDL is the function name of every DDL workload op.
const FDDL = "ddl"

// DDLValue is the value of a DDL op: step Step of object Obj's lifecycle.
type DDLValue struct {
	Obj  string `json:"obj"`
	Kind string `json:"kind"`
	Step int    `json:"step"`
	SQL  string `json:"sql"`
}

// ObjState is the observed (or expected) state of one DDL object. Absent
// objects are not in DDLState.Objects.
type ObjState struct {
	Kind    string   `json:"kind"`
	Columns []string `json:"columns,omitempty"` // tables: in ordinal order
	Indexes []string `json:"indexes,omitempty"` // tables: secondary indexes, sorted
	Tables  []string `json:"tables,omitempty"`  // databases: sorted
	Rows    int64    `json:"rows"`              // row count (databases: of table t)
	SumA    int64    `json:"sum_a,omitempty"`
	SumB    int64    `json:"sum_b,omitempty"`
}

// DDLState maps object name (table name in the workload database, or
// database name) to its state.
type DDLState struct {
	Objects map[string]ObjState `json:"objects"`
}

// DDLStep is one step of an object lifecycle. SQL is a format string with
// one %s: the qualified object name (db.table for tables, the database name
// for databases). Expect is the state after the step; nil means absent.
type DDLStep struct {
	SQL    string
	Expect *ObjState
}

// Lifecycles are the DDL sequences: the workload runs them, the checker
// knows what each prefix leaves behind. Each step's expected state is
// complete, so "half-applied" (a column without its default values, an
// index without its table, a table without its rows) cannot match any
// step.
var Lifecycles = map[string][]DDLStep{
	KindTable: {
		{"CREATE TABLE %s (id INT PRIMARY KEY, a INT NOT NULL)", &ObjState{Kind: KindTable, Columns: []string{"id", "a"}}},
		{"INSERT INTO %s (id, a) VALUES (1, 10), (2, 20), (3, 30)", &ObjState{Kind: KindTable, Columns: []string{"id", "a"}, Rows: 3, SumA: 60}},
		{"ALTER TABLE %s ADD COLUMN b INT NOT NULL DEFAULT 7", &ObjState{Kind: KindTable, Columns: []string{"id", "a", "b"}, Rows: 3, SumA: 60, SumB: 21}},
		{"CREATE INDEX ix_a ON %s (a)", &ObjState{Kind: KindTable, Columns: []string{"id", "a", "b"}, Indexes: []string{"ix_a"}, Rows: 3, SumA: 60, SumB: 21}},
		{"INSERT INTO %s (id, a, b) VALUES (4, 40, 8)", &ObjState{Kind: KindTable, Columns: []string{"id", "a", "b"}, Indexes: []string{"ix_a"}, Rows: 4, SumA: 100, SumB: 29}},
		{"DROP INDEX ix_a ON %s", &ObjState{Kind: KindTable, Columns: []string{"id", "a", "b"}, Rows: 4, SumA: 100, SumB: 29}},
		{"DROP TABLE %s", nil},
	},
	KindDatabase: {
		{"CREATE DATABASE %s", &ObjState{Kind: KindDatabase}},
		{"CREATE TABLE %s.t (id INT PRIMARY KEY)", &ObjState{Kind: KindDatabase, Tables: []string{"t"}}},
		{"INSERT INTO %s.t (id) VALUES (1), (2)", &ObjState{Kind: KindDatabase, Tables: []string{"t"}, Rows: 2}},
		{"DROP DATABASE %s", nil},
	},
	KindUndropDatabase: {
		{"CREATE DATABASE %s", &ObjState{Kind: KindUndropDatabase}},
		{"CREATE TABLE %s.t (id INT PRIMARY KEY)", &ObjState{Kind: KindUndropDatabase, Tables: []string{"t"}}},
		{"INSERT INTO %s.t (id) VALUES (1), (2)", &ObjState{Kind: KindUndropDatabase, Tables: []string{"t"}, Rows: 2}},
		{"DROP DATABASE %s", nil},
		{UndropSQL, &ObjState{Kind: KindUndropDatabase, Tables: []string{"t"}, Rows: 2}},
		{"INSERT INTO %s.t (id) VALUES (3)", &ObjState{Kind: KindUndropDatabase, Tables: []string{"t"}, Rows: 3}},
		{"DROP DATABASE %s", nil},
	},
}

// ExpectAfter returns the expected state of a kind object after step (-1:
// before the first step, absent).
func ExpectAfter(kind string, step int) *ObjState {
	if step < 0 {
		return nil
	}
	return Lifecycles[kind][step].Expect
}
