package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/crashrig/crashrig/database/chunk"
)

// SetGrants stores the serialized grant tables.
func (tx *Tx) SetGrants(ctx context.Context, data []byte) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		c.Grants = append([]byte{}, data...)
		return nil
	})
}

// CreateDatabase adds an empty database.
func (tx *Tx) CreateDatabase(ctx context.Context, name string) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		if _, ok := c.DB(name); ok {
			return fmt.Errorf("%w: %s", ErrDatabaseExists, name)
		}
		c.DBs[strings.ToLower(name)] = &Database{Name: name, Tables: map[string]*Table{}}
		return nil
	})
}

// DropDatabase removes a database and all its tables.
func (tx *Tx) DropDatabase(ctx context.Context, name string) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		if _, ok := c.DB(name); !ok {
			return fmt.Errorf("%w: %s", ErrNoDatabase, name)
		}
		delete(c.DBs, strings.ToLower(name))
		return nil
	})
}

// CreateTable adds an empty table with the given definition (Rows and
// index roots are ignored).
func (tx *Tx) CreateTable(ctx context.Context, db string, def *Table) error {
	nt := def.clone()
	nt.Rows = chunk.Hash{}
	for _, ix := range nt.Indexes {
		ix.Root = chunk.Hash{}
	}
	if err := nt.Validate(); err != nil {
		return err
	}
	for _, c := range nt.Columns {
		if c.AutoIncrement && nt.AutoInc == 0 {
			nt.AutoInc = 1
		}
	}
	return tx.mutate(ctx, func(c *Catalog) error {
		d, ok := c.DB(db)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoDatabase, db)
		}
		if _, ok := d.Table(def.Name); ok {
			return fmt.Errorf("%w: %s", ErrTableExists, def.Name)
		}
		nd := d.clone()
		nd.Tables[strings.ToLower(def.Name)] = nt
		c.DBs[strings.ToLower(d.Name)] = nd
		return nil
	})
}

// DropTable removes a table.
func (tx *Tx) DropTable(ctx context.Context, db, name string) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		d, ok := c.DB(db)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoDatabase, db)
		}
		if _, ok := d.Table(name); !ok {
			return fmt.Errorf("%w: %s", ErrNoTable, name)
		}
		nd := d.clone()
		delete(nd.Tables, strings.ToLower(name))
		c.DBs[strings.ToLower(d.Name)] = nd
		return nil
	})
}

// RenameTable renames a table within a database.
func (tx *Tx) RenameTable(ctx context.Context, db, from, to string) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		d, ok := c.DB(db)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoDatabase, db)
		}
		t, ok := d.Table(from)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoTable, from)
		}
		if _, ok := d.Table(to); ok && !strings.EqualFold(from, to) {
			return fmt.Errorf("%w: %s", ErrTableExists, to)
		}
		nt := t.clone()
		nt.Name = to
		if err := nt.Validate(); err != nil {
			return err
		}
		nd := d.clone()
		delete(nd.Tables, strings.ToLower(from))
		nd.Tables[strings.ToLower(to)] = nt
		c.DBs[strings.ToLower(d.Name)] = nd
		return nil
	})
}

// AlterTableMeta applies a metadata-only change (auto-increment value,
// comment, dropping or renaming an index) via fn on a private copy.
func (tx *Tx) AlterTableMeta(ctx context.Context, db, name string, fn func(t *Table) error) error {
	return tx.mutateTable(ctx, db, name, func(t *Table) (*Table, error) {
		nt := t.clone()
		if err := fn(nt); err != nil {
			return nil, err
		}
		return nt, nt.Validate()
	})
}

// RewriteTable replaces a table's definition by def and rebuilds its rows
// and every index from scratch, passing each old row through transform
// (nil keeps rows unchanged). Used by ALTER TABLE and CREATE INDEX; it is
// O(table size) but atomic: on any error (e.g. a unique violation in the
// new index) nothing changes.
func (tx *Tx) RewriteTable(ctx context.Context, db, name string, def *Table, transform func([]any) ([]any, error)) error {
	return tx.mutateTable(ctx, db, name, func(old *Table) (*Table, error) {
		nt := def.clone()
		nt.Rows = chunk.Hash{}
		for _, ix := range nt.Indexes {
			ix.Root = chunk.Hash{}
		}
		if err := nt.Validate(); err != nil {
			return nil, err
		}
		it := tx.rows(old, nil, nil)
		for {
			row, ok := it.Next()
			if !ok {
				break
			}
			if transform != nil {
				var err error
				if row, err = transform(row); err != nil {
					return nil, err
				}
			}
			if err := tx.insertInto(nt, row); err != nil {
				return nil, err
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		return nt, nil
	})
}

// NextAutoIncrement implements AUTO_INCREMENT allocation: given is a value
// supplied by the statement (0 if none). It returns the value to use.
func (tx *Tx) NextAutoIncrement(ctx context.Context, db, name string, given uint64) (uint64, error) {
	var out uint64
	err := tx.mutateTable(ctx, db, name, func(t *Table) (*Table, error) {
		next := max(t.AutoInc, 1)
		if given > next {
			next = given
		}
		out = next
		if next == t.AutoInc {
			return t, nil
		}
		nt := t.clone()
		nt.AutoInc = next
		return nt, nil
	})
	return out, err
}
