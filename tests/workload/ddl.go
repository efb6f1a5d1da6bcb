package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// ddl runs object lifecycles (model.Lifecycles) sequentially from one
// client: CREATE TABLE, INSERT, ALTER TABLE ADD COLUMN, CREATE/DROP INDEX,
// DROP TABLE; CREATE DATABASE, CREATE TABLE in it, INSERT, DROP DATABASE.
// Each object stops at a random step (so some objects live on across many
// crashes and GCs) or at its first op that is not ok.
type ddl struct {
	opts Options
	next int // next object number; only the single client touches it
}

func newDDL(opts Options) *ddl { return &ddl{opts: opts} }

const (
	ddlTablePrefix = "ddl_t"
	ddlDBPrefix    = DB + "_ddl_d"
	// ddlUndropPrefix names the databases of drop-and-undrop lifecycles.
	ddlUndropPrefix = DB + "_ddl_u"
	// databaseShare is the share of objects that are databases.
	databaseShare = 0.3
)

func (w *ddl) Name() string { return model.DDL }

// Clients is 1: the lifecycles are sequences, and the checker relies on
// each object's ops being ordered.
func (w *ddl) Clients(int) int { return 1 }

func (w *ddl) Setup(context.Context, *sql.DB, *history.Recorder) error { return nil }

func (w *ddl) Run(ctx context.Context, c *Client) {
	for ctx.Err() == nil {
		kind, name, qualified := model.KindTable, fmt.Sprintf("%s%d", ddlTablePrefix, w.next), ""
		switch r := c.RNG.Float64(); {
		case r < databaseShare/2 && w.opts.Server.Undrop != "":
			kind, name = model.KindUndropDatabase, fmt.Sprintf("%s%d", ddlUndropPrefix, w.next)
			qualified = name
		case r < databaseShare:
			kind, name = model.KindDatabase, fmt.Sprintf("%s%d", ddlDBPrefix, w.next)
			qualified = name
		default:
			qualified = DB + "." + name
		}
		w.next++
		steps := model.Lifecycles[kind]
		last := c.RNG.IntN(len(steps) + 2) // >= len(steps): run all steps
		for step := 0; step < len(steps) && step <= last; step++ {
			q := fmt.Sprintf(steps[step].SQL, qualified)
			if steps[step].SQL == model.UndropSQL {
				q = w.opts.Server.UndropStatement(name)
			}
			t := c.Exec(ctx, model.FDDL, model.DDLValue{Obj: name, Kind: kind, Step: step, SQL: q}, q)
			if t != history.OK {
				break // abandon the object: its state is now uncertain
			}
			if Sleep(ctx, time.Duration(c.RNG.IntN(20))*time.Millisecond) != nil {
				return
			}
		}
	}
}

// Snapshot reads each information_schema view once for all objects and
// groups in Go: per-object information_schema queries are slow (they scan
// the whole catalog on go-mysql-server) and objects accumulate over a run.
func (w *ddl) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.DDLState{Objects: map[string]model.ObjState{}}
	schemas, err := queryStrings(ctx, db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return nil, err
	}
	for _, d := range schemas {
		switch {
		case strings.HasPrefix(d, ddlDBPrefix):
			st.Objects[d] = model.ObjState{Kind: model.KindDatabase}
		case strings.HasPrefix(d, ddlUndropPrefix):
			st.Objects[d] = model.ObjState{Kind: model.KindUndropDatabase}
		}
	}
	// Tables of the workload database and of the lifecycle databases.
	err = queryRows(ctx, db, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES", func(schema, table string) {
		switch {
		case schema == DB && strings.HasPrefix(table, ddlTablePrefix):
			st.Objects[table] = model.ObjState{Kind: model.KindTable}
		case strings.HasPrefix(schema, ddlDBPrefix), strings.HasPrefix(schema, ddlUndropPrefix):
			o := st.Objects[schema]
			o.Tables = append(o.Tables, table)
			st.Objects[schema] = o
		}
	})
	if err != nil {
		return nil, err
	}
	// ORDINAL_POSITION order within each table.
	err = queryRows(ctx, db, "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION", func(table, col string) {
		if o, ok := st.Objects[table]; ok && o.Kind == model.KindTable {
			o.Columns = append(o.Columns, col)
			st.Objects[table] = o
		}
	}, DB)
	if err != nil {
		return nil, err
	}
	err = queryRows(ctx, db, "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME <> 'PRIMARY'", func(table, idx string) {
		if o, ok := st.Objects[table]; ok && o.Kind == model.KindTable {
			o.Indexes = append(o.Indexes, idx)
			st.Objects[table] = o
		}
	}, DB)
	if err != nil {
		return nil, err
	}
	for name, o := range st.Objects {
		sort.Strings(o.Indexes)
		sort.Strings(o.Tables)
		if err := w.countRows(ctx, db, name, &o); err != nil {
			return nil, err
		}
		st.Objects[name] = o
	}
	return marshal(st)
}

// countRows fills in the row count and column sums the lifecycle expects.
func (w *ddl) countRows(ctx context.Context, db *sql.DB, name string, o *model.ObjState) error {
	if o.Kind == model.KindDatabase || o.Kind == model.KindUndropDatabase {
		if !contains(o.Tables, "t") {
			return nil
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+name+".t").Scan(&o.Rows); err != nil {
			return fmt.Errorf("count %s.t: %w", name, err)
		}
		return nil
	}
	// Columns a and b are the lifecycle's; sum them when present so rows
	// written before and after ADD COLUMN are both verified.
	sum := func(col string) string {
		if contains(o.Columns, col) {
			return "COALESCE(SUM(" + col + "), 0)"
		}
		return "0"
	}
	q := fmt.Sprintf("SELECT COUNT(*), %s, %s FROM %s.%s", sum("a"), sum("b"), DB, name)
	if err := db.QueryRowContext(ctx, q).Scan(&o.Rows, &o.SumA, &o.SumB); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// queryRows runs a two-string-column query and calls fn per row.
func queryRows(ctx context.Context, db *sql.DB, query string, fn func(a, b string), args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		fn(a, b)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return nil
}

func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
