package checker

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/crashrig/crashrig/tests/history"
)

// DDL object kinds.
const (
	KindTable    = "table"
	KindDatabase = "database"
)

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

// Lifecycles are the DDL sequences, shared by the workload (which runs
// them) and the checker (which knows what each prefix leaves behind). Each
// step's expected state is complete, so "half-applied" (a column without
// its default values, an index without its table, a table without its
// rows) cannot match any step.
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
}

// expectAfter returns the expected state after step (−1: before the first).
func expectAfter(kind string, step int) *ObjState {
	if step < 0 {
		return nil
	}
	return Lifecycles[kind][step].Expect
}

// CheckDDL checks that every object is in the state its acknowledged
// prefix of DDL left it, or the state after the one following unknown op.
// The DDL worker abandons an object after its first non-ok op, so there is
// at most one such op per object.
func CheckDDL(h history.History, workload string, st DDLState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[DDLValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	type obj struct {
		kind    string
		lastOK  int
		okOp    *history.Op
		unknown *history.Op // the info op right after lastOK, if any
		done    bool        // a non-ok op ended the sequence
	}
	objs := map[string]*obj{}
	var names []string
	for i := range ops {
		op, v := &ops[i], vals[i]
		if op.F != FDDL {
			continue
		}
		b.res.Stats["ddl-"+string(op.Type)]++
		o := objs[v.Obj]
		if o == nil {
			o = &obj{kind: v.Kind, lastOK: -1}
			objs[v.Obj] = o
			names = append(names, v.Obj)
		}
		if o.done || v.Step != o.lastOK+1 {
			b.problem("history", "object %s: op #%d runs step %d after step %d (workload bug)", v.Obj, op.Invoke.Index, v.Step, o.lastOK)
			continue
		}
		switch op.Type {
		case history.OK:
			o.lastOK, o.okOp = v.Step, op
		case history.Info:
			o.unknown, o.done = op, true
		default:
			o.done = true
		}
	}
	sort.Strings(names)
	for _, name := range names {
		o := objs[name]
		got, exists := st.Objects[name]
		var gotp *ObjState
		if exists {
			gotp = &got
		}
		want := expectAfter(o.kind, o.lastOK)
		if equalObj(gotp, want) {
			continue
		}
		if o.unknown != nil && equalObj(gotp, expectAfter(o.kind, o.lastOK+1)) {
			continue
		}
		msg := fmt.Sprintf("%s %s is %s, but the acknowledged DDL leaves it %s", o.kind, name, describeObj(gotp), describeObj(want))
		if o.okOp != nil {
			msg += fmt.Sprintf("; last acknowledged step %d %q: %s", o.lastOK, Lifecycles[o.kind][o.lastOK].SQL, b.ctx.Op(*o.okOp))
		}
		if o.unknown != nil {
			msg += fmt.Sprintf("; nor does it match %s after the unknown-outcome %s", describeObj(expectAfter(o.kind, o.lastOK+1)), b.ctx.Op(*o.unknown))
		}
		kind := "schema"
		if gotp == nil {
			kind = "lost"
		}
		b.problem(kind, "%s", msg)
	}
	extra := make([]string, 0)
	for name := range st.Objects {
		if objs[name] == nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		o := st.Objects[name]
		b.problem("unexpected", "%s %s exists (%s), but no client ever created it", o.Kind, name, describeObj(&o))
	}
	b.res.Stats["objects"] = len(st.Objects)
	return b.res
}

func equalObj(a, b *ObjState) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	norm := func(o ObjState) ObjState {
		if len(o.Columns) == 0 {
			o.Columns = nil
		}
		if len(o.Indexes) == 0 {
			o.Indexes = nil
		}
		if len(o.Tables) == 0 {
			o.Tables = nil
		}
		return o
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

func describeObj(o *ObjState) string {
	if o == nil {
		return "absent"
	}
	if o.Kind == KindDatabase {
		return fmt.Sprintf("present with tables %v and %d rows in t", o.Tables, o.Rows)
	}
	return fmt.Sprintf("present with columns %v, indexes %v, %d rows (sum a=%d, sum b=%d)", o.Columns, o.Indexes, o.Rows, o.SumA, o.SumB)
}
