package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/crashrig/crashrig/database/chunk"
	"github.com/crashrig/crashrig/database/rowcodec"
	"github.com/crashrig/crashrig/database/tree"
)

// ErrConflict means the transaction lost a write race: another write
// transaction is open, or a commit happened since this transaction's
// snapshot. The transaction must be rolled back and retried. The SQL layer
// reports it as MySQL error 1213 (ER_LOCK_DEADLOCK, SQLSTATE 40001).
var ErrConflict = errors.New("transaction conflict; try restarting transaction")

// Errors for catalog operations.
var (
	ErrTxDone         = errors.New("transaction already finished")
	ErrDatabaseExists = errors.New("database exists")
	ErrNoDatabase     = errors.New("database does not exist")
	ErrTableExists    = errors.New("table exists")
	ErrNoTable        = errors.New("table does not exist")
	ErrRowNotFound    = errors.New("row not found")
	ErrClosed         = errors.New("store is closed")
	// ErrStopped: an earlier journal write or fsync failed (fail-stop);
	// the store commits nothing any more.
	ErrStopped = errors.New("store is stopped after an earlier I/O failure")
)

// DuplicateKeyError reports a primary or unique key violation.
type DuplicateKeyError struct {
	IsPK     bool
	Index    string
	Key      []any // the duplicated key values
	Existing []any // the row already holding the key
}

func (e *DuplicateKeyError) Error() string {
	name := e.Index
	if e.IsPK {
		name = "PRIMARY"
	}
	return fmt.Sprintf("duplicate entry %v for key %s", e.Key, name)
}

// Tx is a transaction. Reads see the snapshot taken at Begin plus the
// transaction's own writes. The first write takes the store's single write
// lock; it fails with ErrConflict if the lock is not free within LockWait
// or if another transaction committed since the snapshot. Tx methods are
// safe for concurrent use.
type Tx struct {
	s *Store

	mu     sync.Mutex
	base   Head
	cat    *Catalog
	writer bool
	dirty  bool
	done   bool

	stmtID    uint64
	stmtCat   *Catalog
	stmtDirty bool
	saves     map[string]savepoint

	pmu     sync.RWMutex
	pending map[chunk.Hash][]byte
}

type savepoint struct {
	cat   *Catalog
	dirty bool
}

// Begin starts a transaction on the current committed state. With
// immediate set it first waits for the write lock (like SQLite's BEGIN
// IMMEDIATE), so the transaction can never conflict; the SQL layer uses
// that for autocommit writes, which would otherwise fail under any
// concurrency.
func (s *Store) Begin(ctx context.Context, immediate bool) (*Tx, error) {
	if immediate {
		if err := s.acquireWriter(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if immediate {
			s.releaseWriter()
		}
		return nil, ErrClosed
	}
	tx := &Tx{s: s, base: s.head, cat: s.head.Catalog, writer: immediate}
	s.txs[tx] = struct{}{}
	return tx, nil
}

// Snapshot returns a read-only view of the committed head that is not
// registered with GC; use only for short reads outside any transaction.
func (s *Store) Snapshot() *Tx {
	h := s.Head()
	return &Tx{s: s, base: h, cat: h.Catalog, done: true}
}

// Seq returns the commit sequence of the transaction's snapshot.
func (tx *Tx) Seq() uint64 { return tx.base.Seq }

func (tx *Tx) isWriter() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.writer && !tx.done
}

// IsWriter reports whether the transaction holds the write lock.
func (tx *Tx) IsWriter() bool { return tx.isWriter() }

// Dirty reports whether the transaction has uncommitted changes.
func (tx *Tx) Dirty() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.dirty
}

// Done reports whether the transaction was committed or rolled back.
func (tx *Tx) Done() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.done
}

// Get implements tree.Store: own pending chunks first, then committed.
func (tx *Tx) Get(h chunk.Hash) ([]byte, error) {
	tx.pmu.RLock()
	b, ok := tx.pending[h]
	tx.pmu.RUnlock()
	if ok {
		return b, nil
	}
	return tx.s.Get(h)
}

// Put implements tree.Store: new chunks stay private to the transaction
// until commit.
func (tx *Tx) Put(data []byte) chunk.Hash {
	h := chunk.Of(data)
	tx.pmu.Lock()
	if tx.pending == nil {
		tx.pending = map[chunk.Hash][]byte{}
	}
	tx.pending[h] = data
	tx.pmu.Unlock()
	return h
}

// pendingOnly exposes only chunks that are not yet committed, so a walk
// from the new root stops at already-durable subtrees.
type pendingOnly struct{ tx *Tx }

func (p pendingOnly) Get(h chunk.Hash) ([]byte, error) {
	if p.tx.s.has(h) {
		return nil, chunk.NotFound(h)
	}
	p.tx.pmu.RLock()
	defer p.tx.pmu.RUnlock()
	if b, ok := p.tx.pending[h]; ok {
		return b, nil
	}
	return nil, chunk.NotFound(h)
}

// Catalog returns the transaction's current view.
func (tx *Tx) Catalog() *Catalog {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.cat
}

// Table returns a table as the transaction currently sees it.
func (tx *Tx) Table(db, name string) (*Table, bool) {
	c := tx.Catalog()
	d, ok := c.DB(db)
	if !ok {
		return nil, false
	}
	return d.Table(name)
}

// ensureWriter must be called with tx.mu held before any mutation.
func (tx *Tx) ensureWriter(ctx context.Context) error {
	if tx.done {
		return ErrTxDone
	}
	if tx.writer {
		return nil
	}
	if err := tx.s.acquireWriter(ctx); err != nil {
		return err
	}
	if tx.s.Head().Seq != tx.base.Seq {
		tx.s.releaseWriter()
		return fmt.Errorf("%w: snapshot is stale (another transaction committed since it began)", ErrConflict)
	}
	tx.writer = true
	return nil
}

// Commit makes the transaction's changes durable. It returns only after
// the journal fsync (unless a fault is planted). A transaction without
// changes costs no I/O.
func (tx *Tx) Commit(ctx context.Context) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.done {
		return nil
	}
	defer tx.finish()
	if !tx.dirty || !tx.writer {
		return nil
	}
	root := encodeCatalog(tx, tx.cat)
	if root == tx.base.Root {
		return nil // changes cancelled out
	}
	hashes, chunks := postOrder(pendingOnly{tx}, root)
	return tx.s.commit(hashes, chunks, root, tx.cat)
}

// Rollback discards the transaction.
func (tx *Tx) Rollback() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if !tx.done {
		tx.finish()
	}
}

func (tx *Tx) finish() {
	tx.done = true
	tx.pmu.Lock()
	tx.pending = nil
	tx.pmu.Unlock()
	tx.s.mu.Lock()
	delete(tx.s.txs, tx)
	tx.s.mu.Unlock()
	if tx.writer {
		tx.writer = false
		tx.s.releaseWriter()
	}
}

// StatementBegin marks the state a failing statement returns to. Calls
// with the same id (several editors of one statement) keep the first mark.
func (tx *Tx) StatementBegin(id uint64) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.stmtID != id || tx.stmtCat == nil {
		tx.stmtID, tx.stmtCat, tx.stmtDirty = id, tx.cat, tx.dirty
	}
}

// DiscardStatement undoes everything since StatementBegin(id).
func (tx *Tx) DiscardStatement(id uint64) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.stmtID == id && tx.stmtCat != nil && !tx.done {
		tx.cat, tx.dirty = tx.stmtCat, tx.stmtDirty
	}
}

// Savepoint records a named savepoint.
func (tx *Tx) Savepoint(name string) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.saves == nil {
		tx.saves = map[string]savepoint{}
	}
	tx.saves[strings.ToLower(name)] = savepoint{tx.cat, tx.dirty}
}

// RollbackToSavepoint restores a savepoint.
func (tx *Tx) RollbackToSavepoint(name string) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	sp, ok := tx.saves[strings.ToLower(name)]
	if ok {
		tx.cat, tx.dirty = sp.cat, sp.dirty
	}
	return ok
}

// ReleaseSavepoint forgets a savepoint.
func (tx *Tx) ReleaseSavepoint(name string) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	_, ok := tx.saves[strings.ToLower(name)]
	delete(tx.saves, strings.ToLower(name))
	return ok
}

// mutate runs fn on a copy of the catalog under the write lock and
// publishes the result only if fn succeeds, so every operation is atomic.
func (tx *Tx) mutate(ctx context.Context, fn func(c *Catalog) error) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if err := tx.ensureWriter(ctx); err != nil {
		return err
	}
	c := tx.cat.clone()
	if err := fn(c); err != nil {
		return err
	}
	tx.cat = c
	tx.dirty = true
	return nil
}

// mutateTable replaces one table with fn's result.
func (tx *Tx) mutateTable(ctx context.Context, db, name string, fn func(t *Table) (*Table, error)) error {
	return tx.mutate(ctx, func(c *Catalog) error {
		d, ok := c.DB(db)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoDatabase, db)
		}
		t, ok := d.Table(name)
		if !ok {
			return fmt.Errorf("%w: %s.%s", ErrNoTable, db, name)
		}
		nt, err := fn(t)
		if err != nil {
			return err
		}
		nd := d.clone()
		nd.Tables[strings.ToLower(nt.Name)] = nt
		c.DBs[strings.ToLower(d.Name)] = nd
		return nil
	})
}

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

// ---- row operations ----

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

// insertInto adds row to nt (a private copy), enforcing keys.
func (tx *Tx) insertInto(nt *Table, row []any) error {
	k, err := rowKey(nt, row)
	if err != nil {
		return err
	}
	old, found, err := tree.Get(tx, nt.Rows, k)
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
	k, err := rowKey(nt, row)
	if err != nil {
		return err
	}
	old, found, err := tree.Get(tx, nt.Rows, k)
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

// ---- reads ----

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
