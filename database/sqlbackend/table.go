package sqlbackend

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/crashrig/crashrig/database/rowcodec"
	"github.com/crashrig/crashrig/database/store"
)

// Table is the engine's view of one table version. Schema() is fixed at
// resolution time (the engine requires that); data access re-reads the
// session's transaction so a statement sees its own writes.
type Table struct {
	db  *Database
	def *store.Table
	sch sql.PrimaryKeySchema
}

var (
	_ sql.Table                 = (*Table)(nil)
	_ sql.InsertableTable       = (*Table)(nil)
	_ sql.UpdatableTable        = (*Table)(nil)
	_ sql.DeletableTable        = (*Table)(nil)
	_ sql.ReplaceableTable      = (*Table)(nil)
	_ sql.TruncateableTable     = (*Table)(nil)
	_ sql.AlterableTable        = (*Table)(nil)
	_ sql.IndexAlterableTable   = (*Table)(nil)
	_ sql.IndexAddressableTable = (*Table)(nil)
	_ sql.AutoIncrementTable    = (*Table)(nil)
	_ sql.PrimaryKeyTable       = (*Table)(nil)
	_ sql.CommentedTable        = (*Table)(nil)
	_ sql.AutoIncrementSetter   = (*editor)(nil)
	_ sql.TableEditor           = (*editor)(nil)
	_ sql.IndexedTable          = (*indexedTable)(nil)
	_ sql.Index                 = (*index)(nil)
	_ sql.PartitionIter         = (*partitionIter)(nil)
	_ sql.RowIter               = (*rowIter)(nil)
)

func newTable(d *Database, t *store.Table) (*Table, error) {
	sch, err := engineSchema(d.name, t)
	if err != nil {
		return nil, err
	}
	return &Table{db: d, def: t, sch: sch}, nil
}

// Name implements sql.Nameable.
func (t *Table) Name() string { return t.def.Name }

// String implements fmt.Stringer.
func (t *Table) String() string { return t.def.Name }

// Schema implements sql.Table.
func (t *Table) Schema() sql.Schema { return t.sch.Schema }

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *Table) PrimaryKeySchema() sql.PrimaryKeySchema { return t.sch }

// Collation implements sql.Table.
func (t *Table) Collation() sql.CollationID {
	if c, err := sql.ParseCollation("", t.def.Collation, false); err == nil && t.def.Collation != "" {
		return c
	}
	return sql.Collation_Default
}

// Comment implements sql.CommentedTable.
func (t *Table) Comment() string { return t.def.Comment }

// current returns the table as the session's transaction sees it now.
func (t *Table) current(ctx *sql.Context) (*store.Tx, *store.Table, error) {
	tx := t.db.p.readTx(ctx)
	cur, ok := tx.Table(t.db.name, t.def.Name)
	if !ok {
		return nil, nil, sql.ErrTableNotFound.New(t.def.Name)
	}
	return tx, cur, nil
}

type partition struct {
	lookup *sql.IndexLookup
}

func (partition) Key() []byte { return []byte("all") }

type partitionIter struct {
	p    partition
	done bool
}

func (i *partitionIter) Next(*sql.Context) (sql.Partition, error) {
	if i.done {
		return nil, io.EOF
	}
	i.done = true
	return i.p, nil
}

func (i *partitionIter) Close(*sql.Context) error { return nil }

// Partitions implements sql.Table: one partition (the tree is one range).
func (t *Table) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return &partitionIter{}, nil
}

// PartitionRows implements sql.Table.
func (t *Table) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	tx, cur, err := t.current(ctx)
	if err != nil {
		return nil, err
	}
	if pp, ok := p.(partition); ok && pp.lookup != nil {
		return t.lookupRows(ctx, tx, cur, *pp.lookup)
	}
	return &rowIter{it: tx.Rows(cur, nil, nil)}, nil
}

type rowIter struct {
	it *store.RowIter
	// filter, if set, drops rows (used for exact range checks).
	filter func(sql.Row) (bool, error)
}

func (r *rowIter) Next(*sql.Context) (sql.Row, error) {
	for {
		row, ok := r.it.Next()
		if !ok {
			if err := r.it.Err(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		if r.filter != nil {
			keep, err := r.filter(row)
			if err != nil {
				return nil, err
			}
			if !keep {
				continue
			}
		}
		return row, nil
	}
}

func (r *rowIter) Close(*sql.Context) error { return nil }

// multiIter chains row iterators.
type multiIter struct {
	iters []sql.RowIter
}

func (m *multiIter) Next(ctx *sql.Context) (sql.Row, error) {
	for len(m.iters) > 0 {
		row, err := m.iters[0].Next(ctx)
		if err == io.EOF {
			m.iters = m.iters[1:]
			continue
		}
		return row, err
	}
	return nil, io.EOF
}

func (m *multiIter) Close(*sql.Context) error { return nil }

// ---- editing ----

type editor struct {
	t *Table
}

func (t *Table) newEditor() *editor { return &editor{t: t} }

// Inserter implements sql.InsertableTable.
func (t *Table) Inserter(*sql.Context) sql.RowInserter { return t.newEditor() }

// Updater implements sql.UpdatableTable.
func (t *Table) Updater(*sql.Context) sql.RowUpdater { return t.newEditor() }

// Deleter implements sql.DeletableTable.
func (t *Table) Deleter(*sql.Context) sql.RowDeleter { return t.newEditor() }

// Replacer implements sql.ReplaceableTable.
func (t *Table) Replacer(*sql.Context) sql.RowReplacer { return t.newEditor() }

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(*sql.Context) sql.AutoIncrementSetter { return t.newEditor() }

func stmtID(ctx *sql.Context) uint64 { return ctx.Pid() }

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(ctx *sql.Context) {
	if tx := storeTx(ctx); tx != nil {
		tx.StatementBegin(stmtID(ctx))
	}
}

// DiscardChanges implements sql.EditOpenerCloser: the failed statement's
// changes are undone, leaving the transaction as before the statement.
func (e *editor) DiscardChanges(ctx *sql.Context, _ error) error {
	if tx := storeTx(ctx); tx != nil {
		tx.DiscardStatement(stmtID(ctx))
	}
	return nil
}

// StatementComplete implements sql.EditOpenerCloser.
func (e *editor) StatementComplete(*sql.Context) error { return nil }

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.Insert(ctx, e.t.db.name, e.t.def.Name, row))
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.Delete(ctx, e.t.db.name, e.t.def.Name, row))
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.Update(ctx, e.t.db.name, e.t.def.Name, old, new))
}

// SetAutoIncrementValue implements sql.AutoIncrementSetter.
func (e *editor) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.AlterTableMeta(ctx, e.t.db.name, e.t.def.Name, func(t *store.Table) error {
		t.AutoInc = v
		return nil
	}))
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter; the single
// write lock already serialises writers.
func (e *editor) AcquireAutoIncrementLock(*sql.Context) (func(), error) { return func() {}, nil }

// Truncate implements sql.TruncateableTable.
func (t *Table) Truncate(ctx *sql.Context) (int, error) {
	tx, err := writeTx(ctx)
	if err != nil {
		return 0, err
	}
	n, err := tx.Truncate(ctx, t.db.name, t.def.Name)
	return n, mapErr(err)
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *Table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	_, cur, err := t.current(ctx)
	if err != nil {
		return 0, err
	}
	return max(cur.AutoInc, 1), nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable.
func (t *Table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	tx, err := writeTx(ctx)
	if err != nil {
		return 0, err
	}
	var given uint64
	if insertVal != nil {
		v, _, err := types.Uint64.Convert(ctx, insertVal)
		if err == nil {
			given, _ = v.(uint64)
		}
	}
	n, err := tx.NextAutoIncrement(ctx, t.db.name, t.def.Name, given)
	return n, mapErr(err)
}

// ---- schema changes ----

func (t *Table) rewrite(ctx *sql.Context, fn func(def *store.Table) (func([]any) ([]any, error), error)) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	_, cur, err := t.current(ctx)
	if err != nil {
		return err
	}
	def := cur.Copy()
	transform, err := fn(def)
	if err != nil {
		return err
	}
	if err := tx.RewriteTable(ctx, t.db.name, cur.Name, def, transform); err != nil {
		return mapErr(err)
	}
	return t.refresh(ctx)
}

// refresh points t at the table's current definition. The engine keeps
// using the same table object after ALTER operations (e.g. to fill
// defaults of an added column), so it must see the new schema.
func (t *Table) refresh(ctx *sql.Context) error {
	_, cur, err := t.current(ctx)
	if err != nil {
		return err
	}
	sch, err := engineSchema(t.db.name, cur)
	if err != nil {
		return err
	}
	t.def, t.sch = cur, sch
	return nil
}

func insertPos(cols []store.Column, order *sql.ColumnOrder) int {
	if order == nil {
		return len(cols)
	}
	if order.First {
		return 0
	}
	for i, c := range cols {
		if strings.EqualFold(c.Name, order.AfterColumn) {
			return i + 1
		}
	}
	return len(cols)
}

// AddColumn implements sql.AlterableTable. Existing rows get NULL; the
// engine then fills defaults through the updater.
func (t *Table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	sc, err := toStoreColumn(column)
	if err != nil {
		return err
	}
	return t.rewrite(ctx, func(def *store.Table) (func([]any) ([]any, error), error) {
		pos := insertPos(def.Columns, order)
		cols := append(append(append([]store.Column{}, def.Columns[:pos]...), sc), def.Columns[pos:]...)
		def.PK = remapPK(def.Columns, cols, def.PK)
		def.Columns = cols
		if sc.AutoIncrement && def.AutoInc == 0 {
			def.AutoInc = 1
		}
		return func(row []any) ([]any, error) {
			out := append(append(append([]any{}, row[:pos]...), nil), row[pos:]...)
			return out, nil
		}, nil
	})
}

// remapPK maps PK ordinals from old column positions to new ones by name.
func remapPK(old, new []store.Column, pk []int) []int {
	out := make([]int, 0, len(pk))
	for _, o := range pk {
		for j, c := range new {
			if strings.EqualFold(c.Name, old[o].Name) {
				out = append(out, j)
			}
		}
	}
	return out
}

// DropColumn implements sql.AlterableTable.
func (t *Table) DropColumn(ctx *sql.Context, name string) error {
	return t.rewrite(ctx, func(def *store.Table) (func([]any) ([]any, error), error) {
		pos := def.ColumnIndex(name)
		if pos < 0 {
			return nil, sql.ErrTableColumnNotFound.New(def.Name, name)
		}
		cols := append(append([]store.Column{}, def.Columns[:pos]...), def.Columns[pos+1:]...)
		def.PK = remapPK(def.Columns, cols, def.PK)
		def.Columns = cols
		var idx []*store.Index
		for _, ix := range def.Indexes {
			n := *ix
			n.Columns, n.Prefixes = nil, nil
			for i, c := range ix.Columns {
				if !strings.EqualFold(c, name) {
					n.Columns = append(n.Columns, c)
					if i < len(ix.Prefixes) {
						n.Prefixes = append(n.Prefixes, ix.Prefixes[i])
					}
				}
			}
			if len(n.Columns) > 0 {
				idx = append(idx, &n)
			}
		}
		def.Indexes = idx
		return func(row []any) ([]any, error) {
			return append(append([]any{}, row[:pos]...), row[pos+1:]...), nil
		}, nil
	})
}

// ModifyColumn implements sql.AlterableTable: rename, retype (values are
// converted) and/or move a column.
func (t *Table) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	sc, err := toStoreColumn(column)
	if err != nil {
		return err
	}
	return t.rewrite(ctx, func(def *store.Table) (func([]any) ([]any, error), error) {
		from := def.ColumnIndex(name)
		if from < 0 {
			return nil, sql.ErrTableColumnNotFound.New(def.Name, name)
		}
		rest := append(append([]store.Column{}, def.Columns[:from]...), def.Columns[from+1:]...)
		to := from
		if order != nil {
			to = insertPos(rest, order)
		}
		cols := append(append(append([]store.Column{}, rest[:to]...), sc), rest[to:]...)
		// PK ordinals: rename-aware remap.
		var pk []int
		for _, o := range def.PK {
			n := def.Columns[o].Name
			if strings.EqualFold(n, name) {
				n = sc.Name
			}
			for j, c := range cols {
				if strings.EqualFold(c.Name, n) {
					pk = append(pk, j)
				}
			}
		}
		def.PK = pk
		def.Columns = cols
		for i, ix := range def.Indexes {
			n := *ix
			n.Columns = append([]string{}, ix.Columns...)
			for j, c := range n.Columns {
				if strings.EqualFold(c, name) {
					n.Columns[j] = sc.Name
				}
			}
			def.Indexes[i] = &n
		}
		if sc.AutoIncrement && def.AutoInc == 0 {
			def.AutoInc = 1
		}
		return func(row []any) ([]any, error) {
			v := row[from]
			if v != nil {
				cv, _, err := column.Type.Convert(ctx, v)
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", sc.Name, err)
				}
				v = cv
			}
			rest := append(append([]any{}, row[:from]...), row[from+1:]...)
			return append(append(append([]any{}, rest[:to]...), v), rest[to:]...), nil
		}, nil
	})
}

// CreateIndex implements sql.IndexAlterableTable. The index is built
// immediately (and a unique index validated) as one atomic rewrite.
func (t *Table) CreateIndex(ctx *sql.Context, d sql.IndexDef) error {
	if d.IsPrimary() {
		return errors.New("adding a primary key to an existing table is not supported")
	}
	ix, err := indexDef(d)
	if err != nil {
		return err
	}
	return t.rewrite(ctx, func(def *store.Table) (func([]any) ([]any, error), error) {
		if _, ex := def.IndexByName(ix.Name); ex != nil || strings.EqualFold(ix.Name, "PRIMARY") {
			return nil, sql.ErrDuplicateKey.New(ix.Name)
		}
		def.Indexes = append(append([]*store.Index{}, def.Indexes...), ix)
		return nil, nil
	})
}

// DropIndex implements sql.IndexAlterableTable.
func (t *Table) DropIndex(ctx *sql.Context, name string) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return errors.Join(mapErr(tx.AlterTableMeta(ctx, t.db.name, t.def.Name, func(def *store.Table) error {
		i, _ := def.IndexByName(name)
		if i < 0 {
			return sql.ErrIndexNotFound.New(name)
		}
		def.Indexes = append(def.Indexes[:i:i], def.Indexes[i+1:]...)
		return nil
	})), t.refresh(ctx))
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *Table) RenameIndex(ctx *sql.Context, from, to string) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return errors.Join(mapErr(tx.AlterTableMeta(ctx, t.db.name, t.def.Name, func(def *store.Table) error {
		_, ix := def.IndexByName(from)
		if ix == nil {
			return sql.ErrIndexNotFound.New(from)
		}
		if _, ex := def.IndexByName(to); ex != nil {
			return sql.ErrDuplicateKey.New(to)
		}
		ix.Name = to
		return nil
	})), t.refresh(ctx))
}

// ---- indexes ----

// index describes the primary key or a secondary index to the engine.
type index struct {
	db, table string
	name      string
	primary   bool
	unique    bool
	comment   string
	cols      []*sql.Column
	prefixes  []uint16
	ordinals  []int
}

// GetIndexes implements sql.IndexAddressable.
func (t *Table) GetIndexes(*sql.Context) ([]sql.Index, error) {
	var out []sql.Index
	if len(t.def.PK) > 0 {
		ix := &index{db: t.db.name, table: t.def.Name, name: "PRIMARY", primary: true, unique: true, ordinals: t.def.PK}
		for _, o := range t.def.PK {
			ix.cols = append(ix.cols, t.sch.Schema[o])
		}
		out = append(out, ix)
	}
	for _, si := range t.def.Indexes {
		ix := &index{db: t.db.name, table: t.def.Name, name: si.Name, unique: si.Unique, comment: si.Comment,
			prefixes: si.Prefixes, ordinals: t.def.Ordinals(si)}
		for _, o := range ix.ordinals {
			ix.cols = append(ix.cols, t.sch.Schema[o])
		}
		out = append(out, ix)
	}
	return out, nil
}

// PreciseMatch implements sql.IndexAddressable. Lookups return exactly the
// rows in range, but the engine keeps its filter anyway (cheap insurance
// against type-conversion edge cases in bounds).
func (t *Table) PreciseMatch() bool { return false }

// IndexedAccess implements sql.IndexAddressable.
func (t *Table) IndexedAccess(_ *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	return &indexedTable{Table: t, lookup: lookup}
}

type indexedTable struct {
	*Table
	lookup sql.IndexLookup
}

// LookupPartitions implements sql.IndexedTable.
func (t *indexedTable) LookupPartitions(_ *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	return &partitionIter{p: partition{lookup: &lookup}}, nil
}

func (i *index) ID() string        { return i.name }
func (i *index) Database() string  { return i.db }
func (i *index) Table() string     { return i.table }
func (i *index) IsUnique() bool    { return i.unique }
func (i *index) IsSpatial() bool   { return false }
func (i *index) IsFullText() bool  { return false }
func (i *index) IsVector() bool    { return false }
func (i *index) Comment() string   { return i.comment }
func (i *index) IndexType() string { return "BTREE" }
func (i *index) IsGenerated() bool { return false }
func (i *index) PrefixLengths() []uint16 {
	if i.primary {
		return nil
	}
	for _, p := range i.prefixes {
		if p != 0 {
			return i.prefixes
		}
	}
	return nil
}

func (i *index) Expressions() []string {
	out := make([]string, len(i.cols))
	for k, c := range i.cols {
		out[k] = lower(i.table) + "." + lower(c.Name)
	}
	return out
}

func (i *index) ColumnExpressionTypes() []sql.ColumnExpressionType {
	out := make([]sql.ColumnExpressionType, len(i.cols))
	for k, c := range i.cols {
		out[k] = sql.ColumnExpressionType{Expression: lower(i.table) + "." + lower(c.Name), Type: c.Type}
	}
	return out
}

// CanSupport implements sql.Index: byte order of our key encoding equals
// SQL order for numbers, temporal types and binary-collated strings.
func (i *index) CanSupport(*sql.Context, ...sql.Range) bool {
	for _, c := range i.cols {
		if !orderPreserving(c.Type) {
			return false
		}
	}
	return true
}

func (i *index) CanSupportOrderBy(sql.Expression) bool { return false }

func orderPreserving(t sql.Type) bool {
	if types.IsJSON(t) || types.IsEnum(t) || types.IsSet(t) {
		return false
	}
	if st, ok := t.(sql.StringType); ok {
		c := st.Collation()
		return c == sql.Collation_binary || strings.HasSuffix(c.Name(), "_bin")
	}
	return true
}

// lookupRows scans the byte ranges that cover lookup and keeps exactly
// the rows inside each range (and not in an earlier one, so overlapping
// bounds never yield a row twice).
func (t *Table) lookupRows(ctx *sql.Context, tx *store.Tx, cur *store.Table, lookup sql.IndexLookup) (sql.RowIter, error) {
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("unsupported range collection %T", lookup.Ranges)
	}
	var ords []int
	var six *store.Index
	if strings.EqualFold(lookup.Index.ID(), "PRIMARY") && len(cur.PK) > 0 {
		ords = cur.PK
	} else {
		_, six = cur.IndexByName(lookup.Index.ID())
		if six == nil {
			return nil, sql.ErrIndexNotFound.New(lookup.Index.ID())
		}
		ords = cur.Ordinals(six)
	}
	sch := t.sch.Schema
	var iters []sql.RowIter
	for ri := range ranges {
		rng, prev := ranges[ri], ranges[:ri]
		lo, hi, err := rangeBounds(ctx, rng, ords, sch)
		if err != nil {
			return nil, err
		}
		var it *store.RowIter
		if six == nil {
			it = tx.Rows(cur, lo, hi)
		} else {
			it = tx.IndexRows(cur, six, lo, hi)
		}
		iters = append(iters, &rowIter{it: it, filter: func(row sql.Row) (bool, error) {
			in, err := rowInRange(ctx, row, ords, rng)
			if err != nil || !in {
				return false, err
			}
			for _, p := range prev {
				if in, err := rowInRange(ctx, row, ords, p); err != nil || in {
					return false, err
				}
			}
			return true, nil
		}})
	}
	return &multiIter{iters: iters}, nil
}

// rowInRange checks each ranged column value against its cuts.
func rowInRange(ctx *sql.Context, row sql.Row, ords []int, rng sql.MySQLRange) (bool, error) {
	for i, ce := range rng {
		if i >= len(ords) {
			break
		}
		v := row[ords[i]]
		var below, above sql.MySQLRangeCut = sql.Below{Key: v}, sql.Above{Key: v}
		if v == nil {
			below, above = sql.BelowNull{}, sql.AboveNull{}
		}
		c, err := ce.LowerBound.Compare(below, ce.Typ)
		if err != nil {
			return false, err
		}
		if c > 0 {
			return false, nil
		}
		c, err = above.Compare(ce.UpperBound, ce.Typ)
		if err != nil {
			return false, err
		}
		if c > 0 {
			return false, nil
		}
	}
	return true, nil
}

// encodeBound converts a range key to the column type and encodes it; ok is
// false if that is not exact, in which case the caller widens the scan.
func encodeBound(ctx *sql.Context, typ sql.Type, v any) ([]byte, bool) {
	cv, inRange, err := typ.Convert(ctx, v)
	if err != nil || inRange != sql.InRange {
		return nil, false
	}
	b, err := rowcodec.AppendKey(nil, cv)
	return b, err == nil
}

// rangeBounds computes a byte range [lo, hi) that covers every key in rng:
// equality columns extend the prefix, the first non-equality column
// bounds the range, and anything after it is left open.
func rangeBounds(ctx *sql.Context, rng sql.MySQLRange, ords []int, sch sql.Schema) (lo, hi []byte, err error) {
	var prefix []byte
	for i, ce := range rng {
		if i >= len(ords) {
			break
		}
		typ := sch[ords[i]].Type
		lb, lok := ce.LowerBound.(sql.Below)
		ub, uok := ce.UpperBound.(sql.Above)
		if lok && uok {
			if c, err := typ.Compare(ctx, lb.Key, ub.Key); err == nil && c == 0 {
				enc, ok := encodeBound(ctx, typ, lb.Key)
				if !ok {
					break
				}
				prefix = append(prefix, enc...)
				continue
			}
		}
		if _, ok := ce.LowerBound.(sql.BelowNull); ok {
			if _, ok := ce.UpperBound.(sql.AboveNull); ok {
				prefix = append(prefix, 0x00) // IS NULL
				continue
			}
		}
		lo, hi = prefix, rowcodec.PrefixEnd(prefix)
		switch l := ce.LowerBound.(type) {
		case sql.Below:
			if enc, ok := encodeBound(ctx, typ, l.Key); ok {
				lo = append(append([]byte{}, prefix...), enc...)
			}
		case sql.Above:
			if enc, ok := encodeBound(ctx, typ, l.Key); ok {
				lo = append(append([]byte{}, prefix...), enc...)
			}
		case sql.AboveNull:
			lo = append(append([]byte{}, prefix...), 0x01)
		}
		switch u := ce.UpperBound.(type) {
		case sql.Below:
			if enc, ok := encodeBound(ctx, typ, u.Key); ok {
				hi = rowcodec.PrefixEnd(append(append([]byte{}, prefix...), enc...))
			}
		case sql.Above:
			if enc, ok := encodeBound(ctx, typ, u.Key); ok {
				hi = rowcodec.PrefixEnd(append(append([]byte{}, prefix...), enc...))
			}
		case sql.AboveNull:
			hi = append(append([]byte{}, prefix...), 0x01)
		}
		return lo, hi, nil
	}
	return prefix, rowcodec.PrefixEnd(prefix), nil
}
