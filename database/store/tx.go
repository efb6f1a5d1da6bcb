package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/crashrig/crashrig/database/chunk"
)

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
	writer bool // may write (holds the write lock unless NoWriteConflict)
	locked bool // holds the store's write lock
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
	locked := false
	if immediate && !s.opts.Faults.NoWriteConflict {
		if err := s.acquireWriter(ctx); err != nil {
			return nil, err
		}
		locked = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if locked {
			s.releaseWriter()
		}
		return nil, ErrClosed
	}
	tx := &Tx{s: s, base: s.head, cat: s.head.Catalog, writer: immediate, locked: locked}
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

// holdsLock reports whether the transaction holds the store's write lock.
func (tx *Tx) holdsLock() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.locked && !tx.done
}

// IsWriter reports whether the transaction may write (it holds the write
// lock, unless the NoWriteConflict fault is planted).
func (tx *Tx) IsWriter() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.writer && !tx.done
}

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
	if tx.s.opts.Faults.NoWriteConflict {
		// Planted bug: write on the snapshot without the lock or the
		// check, so Commit publishes this catalog over whatever was
		// committed since the snapshot.
		tx.writer = true
		return nil
	}
	if err := tx.s.acquireWriter(ctx); err != nil {
		return err
	}
	if tx.s.Head().Seq != tx.base.Seq {
		tx.s.releaseWriter()
		return fmt.Errorf("%w: snapshot is stale (another transaction committed since it began)", ErrConflict)
	}
	tx.writer, tx.locked = true, true
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
	tx.writer = false
	if tx.locked {
		tx.locked = false
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
