package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/rowcodec"
	"github.com/crashrig/crashrig/database/tree"
)

func rowKey(t *Table, row []any) ([]byte, error) {
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("row has %d values, table %s has %d columns", len(row), t.Name, len(t.Columns))
	}
	if len(t.PK) == 0 {
		// Keyless table: the row itself is the key and the value counts
		// duplicates.
		return rowcodec.EncodeRow(nil, row)
	}
	var k []byte
	for _, o := range t.PK {
		var err error
		if k, err = rowcodec.AppendKey(k, row[o]); err != nil {
			return nil, fmt.Errorf("primary key column %s: %w", t.Columns[o].Name, err)
		}
	}
	return k, nil
}

// RowKey returns the storage key for row.
func RowKey(t *Table, row []any) ([]byte, error) { return rowKey(t, row) }

func indexPrefix(t *Table, ix *Index, row []any) ([]byte, bool, error) {
	var k []byte
	hasNull := false
	for _, o := range t.Ordinals(ix) {
		if row[o] == nil {
			hasNull = true
		}
		var err error
		if k, err = rowcodec.AppendKey(k, row[o]); err != nil {
			return nil, false, fmt.Errorf("index %s column %s: %w", ix.Name, t.Columns[o].Name, err)
		}
	}
	return k, hasNull, nil
}

func (tx *Tx) loadRow(t *Table, key, val []byte) ([]any, error) {
	if len(t.PK) == 0 {
		return rowcodec.DecodeRow(key)
	}
	return rowcodec.DecodeRow(val)
}

func keyValues(ords []int, row []any) []any {
	out := make([]any, len(ords))
	for i, o := range ords {
		out[i] = row[o]
	}
	return out
}

// lookupRow returns row's storage key in nt and the value stored under
// it, if any.
func (tx *Tx) lookupRow(nt *Table, row []any) (key, val []byte, found bool, err error) {
	if key, err = rowKey(nt, row); err != nil {
		return nil, nil, false, err
	}
	val, found, err = tree.Get(tx, nt.Rows, key)
	return key, val, found, err
}

// insertInto adds row to nt (a private copy), enforcing keys.
func (tx *Tx) insertInto(nt *Table, row []any) error {
	k, old, found, err := tx.lookupRow(nt, row)
	if err != nil {
		return err
	}
	if len(nt.PK) == 0 {
		n := uint64(1)
		if found {
			c, _ := binary.Uvarint(old)
			n = c + 1
		}
		if nt.Rows, err = tree.Put(tx, nt.Rows, k, binary.AppendUvarint(nil, n)); err != nil {
			return err
		}
		if found {
			return nil // index entries already point at this row key
		}
	} else {
		if found {
			existing, err := tx.loadRow(nt, k, old)
			if err != nil {
				return err
			}
			return &DuplicateKeyError{IsPK: true, Key: keyValues(nt.PK, row), Existing: existing}
		}
		// Check unique indexes before writing anything.
		for _, ix := range nt.Indexes {
			if !ix.Unique {
				continue
			}
			p, hasNull, err := indexPrefix(nt, ix, row)
			if err != nil {
				return err
			}
			if hasNull {
				continue // MySQL allows any number of NULLs in a unique index
			}
			it := tree.NewIter(tx, ix.Root, p, rowcodec.PrefixEnd(p))
			if _, other, ok := it.Next(); ok && !bytes.Equal(other, k) {
				ev, _, err := tree.Get(tx, nt.Rows, other)
				if err != nil {
					return err
				}
				existing, err := tx.loadRow(nt, other, ev)
				if err != nil {
					return err
				}
				return &DuplicateKeyError{Index: ix.Name, Key: keyValues(nt.Ordinals(ix), row), Existing: existing}
			} else if err := it.Err(); err != nil {
				return err
			}
		}
		v, err := rowcodec.EncodeRow(nil, row)
		if err != nil {
			return err
		}
		if nt.Rows, err = tree.Put(tx, nt.Rows, k, v); err != nil {
			return err
		}
	}
	for _, ix := range nt.Indexes {
		p, _, err := indexPrefix(nt, ix, row)
		if err != nil {
			return err
		}
		if ix.Root, err = tree.Put(tx, ix.Root, append(p, k...), k); err != nil {
			return err
		}
	}
	return nil
}

// deleteFrom removes row from nt (a private copy).
func (tx *Tx) deleteFrom(nt *Table, row []any) error {
	k, old, found, err := tx.lookupRow(nt, row)
	if err != nil {
		return err
	}
	if !found {
		return ErrRowNotFound
	}
	stored := row
	if len(nt.PK) == 0 {
		if c, _ := binary.Uvarint(old); c > 1 {
			nt.Rows, err = tree.Put(tx, nt.Rows, k, binary.AppendUvarint(nil, c-1))
			return err
		}
	} else if stored, err = rowcodec.DecodeRow(old); err != nil {
		return err
	}
	if nt.Rows, _, err = tree.Delete(tx, nt.Rows, k); err != nil {
		return err
	}
	for _, ix := range nt.Indexes {
		p, _, err := indexPrefix(nt, ix, stored)
		if err != nil {
			return err
		}
		if ix.Root, _, err = tree.Delete(tx, ix.Root, append(p, k...)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) bumpAutoInc(row []any) {
	for i, c := range t.Columns {
		if !c.AutoIncrement || row[i] == nil {
			continue
		}
		var v uint64
		switch x := row[i].(type) {
		case int8:
			v = uint64(max(x, 0))
		case int16:
			v = uint64(max(x, 0))
		case int32:
			v = uint64(max(x, 0))
		case int64:
			v = uint64(max(x, 0))
		case uint8:
			v = uint64(x)
		case uint16:
			v = uint64(x)
		case uint32:
			v = uint64(x)
		case uint64:
			v = x
		}
		if v >= t.AutoInc && v < ^uint64(0) {
			t.AutoInc = v + 1
		}
	}
}

// Insert adds a row, failing with *DuplicateKeyError on a key violation.
func (tx *Tx) Insert(ctx context.Context, db, table string, row []any) error {
	return tx.mutateTable(ctx, db, table, func(t *Table) (*Table, error) {
		nt := t.clone()
		if err := tx.insertInto(nt, row); err != nil {
			return nil, err
		}
		nt.bumpAutoInc(row)
		return nt, nil
	})
}

// Delete removes a row (identified by its key columns).
func (tx *Tx) Delete(ctx context.Context, db, table string, row []any) error {
	return tx.mutateTable(ctx, db, table, func(t *Table) (*Table, error) {
		nt := t.clone()
		return nt, tx.deleteFrom(nt, row)
	})
}

// Update replaces old by new atomically.
func (tx *Tx) Update(ctx context.Context, db, table string, old, new []any) error {
	return tx.mutateTable(ctx, db, table, func(t *Table) (*Table, error) {
		nt := t.clone()
		if err := tx.deleteFrom(nt, old); err != nil {
			return nil, err
		}
		if err := tx.insertInto(nt, new); err != nil {
			return nil, err
		}
		nt.bumpAutoInc(new)
		return nt, nil
	})
}

// Truncate removes all rows and returns how many there were.
func (tx *Tx) Truncate(ctx context.Context, db, table string) (int, error) {
	n := 0
	err := tx.mutateTable(ctx, db, table, func(t *Table) (*Table, error) {
		it := tx.rows(t, nil, nil)
		for {
			if _, ok := it.Next(); !ok {
				break
			}
			n++
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		nt := t.clone()
		nt.Rows = chunk.Hash{}
		for _, ix := range nt.Indexes {
			ix.Root = chunk.Hash{}
		}
		return nt, nil
	})
	return n, err
}
