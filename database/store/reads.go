package store

import (
	"encoding/binary"
	"fmt"

	"github.com/crashrig/crashrig/database/tree"
)

// RowIter yields decoded rows.
type RowIter struct {
	tx     *Tx
	t      *Table
	it     *tree.Iter
	viaIdx bool
	repeat []any
	left   uint64
	err    error
}

func (tx *Tx) rows(t *Table, lo, hi []byte) *RowIter {
	return &RowIter{tx: tx, t: t, it: tree.NewIter(tx, t.Rows, lo, hi)}
}

// Rows iterates t's rows with keys in [lo, hi) in key order (nil bounds
// are open). t must come from this transaction's catalog.
func (tx *Tx) Rows(t *Table, lo, hi []byte) *RowIter { return tx.rows(t, lo, hi) }

// IndexRows iterates rows through a secondary index over index-key range
// [lo, hi).
func (tx *Tx) IndexRows(t *Table, ix *Index, lo, hi []byte) *RowIter {
	return &RowIter{tx: tx, t: t, it: tree.NewIter(tx, ix.Root, lo, hi), viaIdx: true}
}

// Next returns the next row.
func (r *RowIter) Next() ([]any, bool) {
	if r.err != nil {
		return nil, false
	}
	if r.left > 0 {
		r.left--
		return r.repeat, true
	}
	k, v, ok := r.it.Next()
	if !ok {
		r.err = r.it.Err()
		return nil, false
	}
	if r.viaIdx {
		rk := v
		rv, found, err := tree.Get(r.tx, r.t.Rows, rk)
		if err != nil || !found {
			r.err = fmt.Errorf("index entry points at missing row: %v", err)
			return nil, false
		}
		k, v = rk, rv
	}
	row, err := r.tx.loadRow(r.t, k, v)
	if err != nil {
		r.err = err
		return nil, false
	}
	if len(r.t.PK) == 0 {
		if c, _ := binary.Uvarint(v); c > 1 {
			r.repeat, r.left = row, c-1
		}
	}
	return row, true
}

// Err returns the iteration error, if any.
func (r *RowIter) Err() error { return r.err }
