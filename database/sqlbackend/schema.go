package sqlbackend

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"

	"github.com/crashrig/crashrig/database/store"
)

// toStoreColumn converts an engine column to its storable form.
func toStoreColumn(c *sql.Column) (store.Column, error) {
	if c.Generated != nil {
		return store.Column{}, fmt.Errorf("generated column %s is not supported", c.Name)
	}
	sc := store.Column{
		Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable, PrimaryKey: c.PrimaryKey,
		AutoIncrement: c.AutoIncrement, Comment: c.Comment, Extra: c.Extra,
	}
	if c.Default != nil {
		sc.HasDefault = true
		sc.Default = c.Default.String()
	}
	if c.OnUpdate != nil {
		sc.OnUpdate = c.OnUpdate.String()
	}
	// Reject types whose text form does not parse back, so that a CREATE
	// TABLE never succeeds with a schema that cannot be reopened.
	if _, err := planbuilder.ParseColumnTypeString(sc.Type); err != nil {
		return store.Column{}, fmt.Errorf("column %s: type %q cannot be stored: %w", c.Name, sc.Type, err)
	}
	return sc, nil
}

func toStoreColumns(sch sql.Schema) ([]store.Column, error) {
	out := make([]store.Column, len(sch))
	for i, c := range sch {
		var err error
		if out[i], err = toStoreColumn(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type cachedSchema struct {
	sch sql.PrimaryKeySchema
	err error
}

// engineSchema returns (and caches on the immutable table version) the
// engine schema for t in database db.
func engineSchema(db string, t *store.Table) (sql.PrimaryKeySchema, error) {
	if c, ok := t.Ext.Load().(*cachedSchema); ok {
		return c.sch, c.err
	}
	sch, err := buildSchema(db, t)
	t.Ext.Store(&cachedSchema{sch: sch, err: err})
	return sch, err
}

func buildSchema(db string, t *store.Table) (sql.PrimaryKeySchema, error) {
	cols := make(sql.Schema, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := planbuilder.ParseColumnTypeString(c.Type)
		if err != nil {
			return sql.PrimaryKeySchema{}, fmt.Errorf("table %s column %s: %w", t.Name, c.Name, err)
		}
		col := &sql.Column{
			Name: c.Name, Type: typ, Nullable: c.Nullable, Source: t.Name, DatabaseSource: db,
			PrimaryKey: c.PrimaryKey, AutoIncrement: c.AutoIncrement, Comment: c.Comment, Extra: c.Extra,
		}
		if c.HasDefault {
			col.Default = sql.NewUnresolvedColumnDefaultValue(c.Default)
		}
		if c.OnUpdate != "" {
			col.OnUpdate = sql.NewUnresolvedColumnDefaultValue(c.OnUpdate)
		}
		cols[i] = col
	}
	return sql.NewPrimaryKeySchema(cols, t.PK...), nil
}

// tableDef builds a store table definition from an engine schema.
func tableDef(name string, sch sql.PrimaryKeySchema, collation sql.CollationID, comment string) (*store.Table, error) {
	cols, err := toStoreColumns(sch.Schema)
	if err != nil {
		return nil, err
	}
	pk := append([]int(nil), sch.PkOrdinals...)
	return &store.Table{Name: name, Columns: cols, PK: pk, Collation: collation.Name(), Comment: comment}, nil
}

func indexDef(d sql.IndexDef) (*store.Index, error) {
	if d.IsFullText() || d.IsSpatial() || d.IsVector() {
		return nil, fmt.Errorf("index %s: only BTREE indexes are supported", d.Name)
	}
	ix := &store.Index{Name: d.Name, Unique: d.IsUnique(), Comment: d.Comment}
	for _, c := range d.Columns {
		ix.Columns = append(ix.Columns, c.Name)
		ix.Prefixes = append(ix.Prefixes, uint16(c.Length))
	}
	return ix, nil
}

func lower(s string) string { return strings.ToLower(s) }
