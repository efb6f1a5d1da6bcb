package sqlbackend

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/crashrig/crashrig/database/store"
)

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
