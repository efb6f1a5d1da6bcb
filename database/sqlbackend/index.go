package sqlbackend

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/crashrig/crashrig/database/rowcodec"
	"github.com/crashrig/crashrig/database/store"
)

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

func (i *index) ID() string { return i.name }

func (i *index) Database() string { return i.db }

func (i *index) Table() string { return i.table }

func (i *index) IsUnique() bool { return i.unique }

func (i *index) IsSpatial() bool { return false }

func (i *index) IsFullText() bool { return false }

func (i *index) IsVector() bool { return false }

func (i *index) Comment() string { return i.comment }

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
