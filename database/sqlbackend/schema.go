package sqlbackend

import (
	"fmt"
	"strings"
	"sync"

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
	c := schemas.get(db, t)
	t.Ext.Store(c)
	return c.sch, c.err
}

// schemaKey identifies a schema across table versions. Every write makes a
// new table version (new row tree hash) that shares the Columns and PK
// slices of the one before; schema changes always build new slices. So
// the slices' identity stands for their content, and the pointers in the
// key keep them alive, so an address is never reused while cached.
type schemaKey struct {
	db, name string
	cols     *store.Column
	ncols    int
	pk       *int
	npk      int
}

// schemaCache spares every write statement a schema rebuild (parsing each
// column's type text): ~20 us of a ~500 us autocommit INSERT.
type schemaCache struct {
	mu sync.Mutex
	m  map[schemaKey]*cachedSchema
}

var schemas = schemaCache{m: map[schemaKey]*cachedSchema{}}

// maxCachedSchemas bounds the cache; it is cleared when full.
const maxCachedSchemas = 4096

func (sc *schemaCache) get(db string, t *store.Table) *cachedSchema {
	k := schemaKey{db: db, name: t.Name, ncols: len(t.Columns), npk: len(t.PK)}
	if len(t.Columns) > 0 {
		k.cols = &t.Columns[0]
	}
	if len(t.PK) > 0 {
		k.pk = &t.PK[0]
	}
	sc.mu.Lock()
	c, ok := sc.m[k]
	sc.mu.Unlock()
	if ok {
		return c
	}
	sch, err := buildSchema(db, t)
	c = &cachedSchema{sch: sch, err: err}
	sc.mu.Lock()
	if len(sc.m) >= maxCachedSchemas {
		clear(sc.m)
	}
	sc.m[k] = c
	sc.mu.Unlock()
	return c
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
