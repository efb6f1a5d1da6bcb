package sqlbackend

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"

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
