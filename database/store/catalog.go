package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/crashrig/crashrig/database/chunk"
)

// Catalog is the decoded content of a root: every database, table and the
// serialized grant tables. Catalog values are immutable once published;
// transactions copy the path they change (copy-on-write), so a snapshot is
// just a *Catalog pointer.
type Catalog struct {
	DBs    map[string]*Database // keyed by lower-case name
	Grants []byte               // go-mysql-server mysql_db serialization, nil if never set

	hash chunk.Hash // memo: encoded root chunk, zero if not yet encoded
}

// Database is one SQL database.
type Database struct {
	Name   string
	Tables map[string]*Table // keyed by lower-case name

	hash chunk.Hash
}

// Column is the storable description of a column. Type and default
// expressions are kept as SQL text so the format does not depend on the
// SQL engine's in-memory type representation.
type Column struct {
	Name          string
	Type          string
	Nullable      bool
	PrimaryKey    bool
	AutoIncrement bool
	Default       string // SQL expression text, "" for none
	HasDefault    bool
	OnUpdate      string
	Comment       string
	Extra         string
}

// Index is a secondary index. Entries map (index columns..., row key) to
// the row key.
type Index struct {
	Name     string
	Columns  []string
	Prefixes []uint16 // prefix lengths as declared (not used for storage)
	Unique   bool
	Comment  string
	Root     chunk.Hash
	ordinals []int
}

// Table is one table: schema, row tree and index trees.
type Table struct {
	Name      string
	Columns   []Column
	PK        []int // ordinals of primary-key columns, in key order; empty for keyless tables
	Indexes   []*Index
	Rows      chunk.Hash
	AutoInc   uint64 // next AUTO_INCREMENT value; 0 means 1
	Collation string
	Comment   string

	hash chunk.Hash
	// Ext lets the SQL layer cache derived data (e.g. its schema object)
	// on an immutable table version.
	Ext atomic.Value
}

// ColumnIndex returns the ordinal of the named column (case-insensitive).
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// IndexByName returns the named secondary index.
func (t *Table) IndexByName(name string) (int, *Index) {
	for i, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, name) {
			return i, ix
		}
	}
	return -1, nil
}

// Ordinals returns the column ordinals of ix in t.
func (t *Table) Ordinals(ix *Index) []int {
	if ix.ordinals != nil {
		return ix.ordinals
	}
	ords := make([]int, len(ix.Columns))
	for i, c := range ix.Columns {
		ords[i] = t.ColumnIndex(c)
	}
	return ords
}

// clone returns a mutable shallow copy without memoized hash.
func (t *Table) clone() *Table {
	n := &Table{
		Name: t.Name, Columns: t.Columns, PK: t.PK, Rows: t.Rows,
		AutoInc: t.AutoInc, Collation: t.Collation, Comment: t.Comment,
	}
	n.Indexes = make([]*Index, len(t.Indexes))
	for i, ix := range t.Indexes {
		c := *ix
		n.Indexes[i] = &c
	}
	return n
}

// Copy returns a private, mutable copy of t for building a new definition
// (e.g. for ALTER TABLE); it shares row and index trees.
func (t *Table) Copy() *Table { return t.clone() }

// Validate checks internal consistency of a table definition.
func (t *Table) Validate() error {
	for _, o := range t.PK {
		if o < 0 || o >= len(t.Columns) {
			return fmt.Errorf("table %s: primary key ordinal %d out of range", t.Name, o)
		}
	}
	for _, ix := range t.Indexes {
		ix.ordinals = nil
		ords := t.Ordinals(ix)
		for i, o := range ords {
			if o < 0 {
				return fmt.Errorf("table %s: index %s: unknown column %q", t.Name, ix.Name, ix.Columns[i])
			}
		}
		ix.ordinals = ords
	}
	return nil
}

func (d *Database) clone() *Database {
	n := &Database{Name: d.Name, Tables: make(map[string]*Table, len(d.Tables))}
	for k, v := range d.Tables {
		n.Tables[k] = v
	}
	return n
}

func (c *Catalog) clone() *Catalog {
	n := &Catalog{DBs: make(map[string]*Database, len(c.DBs)), Grants: c.Grants}
	for k, v := range c.DBs {
		n.DBs[k] = v
	}
	return n
}

// DB returns the named database (case-insensitive).
func (c *Catalog) DB(name string) (*Database, bool) {
	d, ok := c.DBs[strings.ToLower(name)]
	return d, ok
}

// DBNames returns database names sorted.
func (c *Catalog) DBNames() []string {
	var out []string
	for _, d := range c.DBs {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

// Table returns the named table (case-insensitive).
func (d *Database) Table(name string) (*Table, bool) {
	t, ok := d.Tables[strings.ToLower(name)]
	return t, ok
}

// TableNames returns the table names sorted.
func (d *Database) TableNames() []string {
	var out []string
	for _, t := range d.Tables {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

// ---- encoding ----

type enc struct{ b []byte }

func (e *enc) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) str(s string) { e.uv(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, w := binary.Uvarint(d.b)
	if w <= 0 {
		d.err = errCorruptCatalog
		return 0
	}
	d.b = d.b[w:]
	return v
}

func (d *dec) str() string {
	n := d.uv()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errCorruptCatalog
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 {
		d.err = errCorruptCatalog
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

var errCorruptCatalog = errors.New("corrupt catalog chunk")

const tableMetaVersion = 1

func encodeTable(t *Table) chunk.Chunk {
	var e enc
	e.uv(tableMetaVersion)
	e.str(t.Name)
	e.str(t.Collation)
	e.str(t.Comment)
	e.uv(t.AutoInc)
	e.uv(uint64(len(t.Columns)))
	for _, c := range t.Columns {
		e.str(c.Name)
		e.str(c.Type)
		e.bool(c.Nullable)
		e.bool(c.PrimaryKey)
		e.bool(c.AutoIncrement)
		e.bool(c.HasDefault)
		e.str(c.Default)
		e.str(c.OnUpdate)
		e.str(c.Comment)
		e.str(c.Extra)
	}
	e.uv(uint64(len(t.PK)))
	for _, o := range t.PK {
		e.uv(uint64(o))
	}
	e.uv(uint64(len(t.Indexes)))
	refs := []chunk.Hash{t.Rows}
	for _, ix := range t.Indexes {
		e.str(ix.Name)
		e.bool(ix.Unique)
		e.str(ix.Comment)
		e.uv(uint64(len(ix.Columns)))
		for i, c := range ix.Columns {
			e.str(c)
			var p uint16
			if i < len(ix.Prefixes) {
				p = ix.Prefixes[i]
			}
			e.uv(uint64(p))
		}
		refs = append(refs, ix.Root)
	}
	return chunk.Chunk{Kind: chunk.KindTable, Refs: refs, Payload: e.b}
}

func decodeTable(c chunk.Chunk) (*Table, error) {
	if c.Kind != chunk.KindTable || len(c.Refs) < 1 {
		return nil, errCorruptCatalog
	}
	d := dec{b: c.Payload}
	if v := d.uv(); d.err == nil && v != tableMetaVersion {
		return nil, fmt.Errorf("unsupported table meta version %d", v)
	}
	t := &Table{Name: d.str(), Collation: d.str(), Comment: d.str(), AutoInc: d.uv(), Rows: c.Refs[0]}
	n := d.uv()
	for i := uint64(0); i < n && d.err == nil; i++ {
		t.Columns = append(t.Columns, Column{
			Name: d.str(), Type: d.str(), Nullable: d.bool(), PrimaryKey: d.bool(),
			AutoIncrement: d.bool(), HasDefault: d.bool(), Default: d.str(), OnUpdate: d.str(),
			Comment: d.str(), Extra: d.str(),
		})
	}
	n = d.uv()
	for i := uint64(0); i < n && d.err == nil; i++ {
		t.PK = append(t.PK, int(d.uv()))
	}
	n = d.uv()
	if d.err == nil && uint64(len(c.Refs)) != n+1 {
		return nil, errCorruptCatalog
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		ix := &Index{Name: d.str(), Unique: d.bool(), Comment: d.str(), Root: c.Refs[i+1]}
		m := d.uv()
		for j := uint64(0); j < m && d.err == nil; j++ {
			ix.Columns = append(ix.Columns, d.str())
			ix.Prefixes = append(ix.Prefixes, uint16(d.uv()))
		}
		t.Indexes = append(t.Indexes, ix)
	}
	if d.err != nil {
		return nil, d.err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// putter stores encoded chunks.
type putter interface{ Put([]byte) chunk.Hash }

// encodeCatalog writes the chunks for every catalog node whose memoized
// hash is unset (i.e. changed since it was last encoded) and returns the
// root hash. Unchanged databases and tables are referenced by their memo,
// so a commit re-encodes only the path from the root to what changed.
func encodeCatalog(p putter, c *Catalog) chunk.Hash {
	if !c.hash.IsZero() {
		return c.hash
	}
	var e enc
	refs := []chunk.Hash{{}}
	if c.Grants != nil {
		refs[0] = p.Put(chunk.Chunk{Kind: chunk.KindBlob, Payload: c.Grants}.Encode())
	}
	e.bool(c.Grants != nil)
	names := make([]string, 0, len(c.DBs))
	for k := range c.DBs {
		names = append(names, k)
	}
	sort.Strings(names)
	e.uv(uint64(len(names)))
	for _, k := range names {
		db := c.DBs[k]
		e.str(db.Name)
		refs = append(refs, encodeDB(p, db))
	}
	c.hash = p.Put(chunk.Chunk{Kind: chunk.KindRoot, Refs: refs, Payload: e.b}.Encode())
	return c.hash
}

func encodeDB(p putter, db *Database) chunk.Hash {
	if !db.hash.IsZero() {
		return db.hash
	}
	var e enc
	e.str(db.Name)
	names := make([]string, 0, len(db.Tables))
	for k := range db.Tables {
		names = append(names, k)
	}
	sort.Strings(names)
	e.uv(uint64(len(names)))
	var refs []chunk.Hash
	for _, k := range names {
		t := db.Tables[k]
		e.str(t.Name)
		if t.hash.IsZero() {
			t.hash = p.Put(encodeTable(t).Encode())
		}
		refs = append(refs, t.hash)
	}
	db.hash = p.Put(chunk.Chunk{Kind: chunk.KindDatabase, Refs: refs, Payload: e.b}.Encode())
	return db.hash
}

func decodeCatalog(g chunk.Getter, root chunk.Hash) (*Catalog, error) {
	data, err := g.Get(root)
	if err != nil {
		return nil, err
	}
	c, err := chunk.Decode(data)
	if err != nil {
		return nil, err
	}
	if c.Kind != chunk.KindRoot || len(c.Refs) < 1 {
		return nil, fmt.Errorf("chunk %s is not a root: %w", root.Short(), errCorruptCatalog)
	}
	d := dec{b: c.Payload}
	cat := &Catalog{DBs: map[string]*Database{}, hash: root}
	if d.bool() {
		gd, err := g.Get(c.Refs[0])
		if err != nil {
			return nil, fmt.Errorf("grants: %w", err)
		}
		gc, err := chunk.Decode(gd)
		if err != nil {
			return nil, fmt.Errorf("grants: %w", err)
		}
		cat.Grants = append([]byte{}, gc.Payload...)
	}
	n := d.uv()
	if d.err == nil && uint64(len(c.Refs)) != n+1 {
		return nil, errCorruptCatalog
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.str()
		db, err := decodeDB(g, c.Refs[i+1])
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", name, err)
		}
		cat.DBs[strings.ToLower(db.Name)] = db
	}
	if d.err != nil {
		return nil, d.err
	}
	return cat, nil
}

func decodeDB(g chunk.Getter, h chunk.Hash) (*Database, error) {
	data, err := g.Get(h)
	if err != nil {
		return nil, err
	}
	c, err := chunk.Decode(data)
	if err != nil {
		return nil, err
	}
	if c.Kind != chunk.KindDatabase {
		return nil, errCorruptCatalog
	}
	d := dec{b: c.Payload}
	db := &Database{Name: d.str(), Tables: map[string]*Table{}, hash: h}
	n := d.uv()
	if d.err == nil && uint64(len(c.Refs)) != n {
		return nil, errCorruptCatalog
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		_ = d.str()
		td, err := g.Get(c.Refs[i])
		if err != nil {
			return nil, err
		}
		tc, err := chunk.Decode(td)
		if err != nil {
			return nil, err
		}
		t, err := decodeTable(tc)
		if err != nil {
			return nil, err
		}
		t.hash = c.Refs[i]
		db.Tables[strings.ToLower(t.Name)] = t
	}
	return db, d.err
}
