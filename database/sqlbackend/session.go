package sqlbackend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/crashrig/crashrig/database/journal"
	"github.com/crashrig/crashrig/database/store"
)

// Transaction adapts a store transaction to the engine.
type Transaction struct {
	mu sync.Mutex
	tx *store.Tx
	// autocommit is true when the transaction was started implicitly for
	// a single statement with @@autocommit on.
	autocommit bool

	// An explicit BEGIN does not fix the snapshot: like InnoDB, which
	// takes its read view at the first read, the snapshot is taken again
	// at the first statement after BEGIN (query beginPid), and if that
	// statement writes, the write lock is taken first. Without this, any
	// commit by another client between BEGIN and the first UPDATE made
	// the transaction stale and every such transfer failed with 1213.
	st       *store.Store
	beginPid uint64
	pinned   bool
}

// String implements sql.Transaction.
func (t *Transaction) String() string { return fmt.Sprintf("crashrig-tx@%d", t.current().Seq()) }

// IsReadOnly implements sql.Transaction.
func (t *Transaction) IsReadOnly() bool { return false }

func (t *Transaction) current() *store.Tx {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tx
}

func (t *Transaction) replace(tx *store.Tx) {
	t.mu.Lock()
	t.tx = tx
	t.mu.Unlock()
}

// pin takes the snapshot of an explicit transaction at its first
// statement; see Transaction. A transaction that already read or wrote
// keeps its snapshot.
func (t *Transaction) pin(ctx *sql.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pinned || ctx.Pid() == t.beginPid {
		return
	}
	t.pinned = true
	old := t.tx
	if old.Done() || old.Dirty() || old.IsWriter() {
		return
	}
	nt, err := t.st.Begin(ctx, writeStatement(ctx.Query()))
	if err != nil {
		// Keep the BEGIN snapshot: a write through it reports the
		// conflict (1213) as before.
		return
	}
	old.Rollback()
	t.tx = nt
}

// Session is a connection's session; it implements sql.TransactionSession
// on top of the store, and sql.LifecycleAwareSession to release the write
// lock of transactions the engine abandons.
type Session struct {
	*sql.BaseSession
	p *Provider

	mu  sync.Mutex
	cur *Transaction // last transaction handed to the engine
}

var (
	_ sql.TransactionSession    = (*Session)(nil)
	_ sql.LifecycleAwareSession = (*Session)(nil)
)

// conflictError is MySQL's retryable ER_LOCK_DEADLOCK.
func conflictError(err error) error {
	return mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
		"Deadlock found when trying to get lock; try restarting transaction (%v)", err)
}

// firstWord returns a statement's first keyword, upper-cased, skipping
// leading blanks, parentheses and /* */ comments, and the rest after it.
func firstWord(q string) (word, rest string) {
	q = strings.TrimLeft(q, " \t\r\n(")
	for strings.HasPrefix(q, "/*") {
		end := strings.Index(q, "*/")
		if end < 0 {
			return "", ""
		}
		q = strings.TrimLeft(q[end+2:], " \t\r\n(")
	}
	word, rest = q, ""
	if i := strings.IndexAny(q, " \t\r\n(;"); i >= 0 {
		word, rest = q[:i], q[i:]
	}
	return strings.ToUpper(word), rest
}

// writeStatement reports whether a statement obviously writes, so that an
// autocommit transaction for it can take the write lock up front.
func writeStatement(q string) bool {
	word, rest := firstWord(q)
	switch word {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOAD":
		return true
	case "SET":
		return strings.Contains(strings.ToUpper(rest), "PASSWORD") // SET PASSWORD writes grants
	}
	return false
}

// StartTransaction implements sql.TransactionSession.
func (s *Session) StartTransaction(ctx *sql.Context, _ sql.TransactionCharacteristic) (sql.Transaction, error) {
	s.abandonCurrent()
	autocommit, err := plan.IsSessionAutocommit(ctx)
	if err != nil {
		return nil, err
	}
	autocommit = autocommit && !ctx.GetIgnoreAutoCommit()
	q := ctx.Query()
	word, _ := firstWord(q)
	explicit := word == "BEGIN" || word == "START"
	// A transaction started by its first statement (autocommit, or
	// @@autocommit=0) that writes takes the write lock up front, so it
	// cannot conflict; one started by BEGIN is pinned at its first
	// statement instead.
	immediate := !explicit && writeStatement(q)
	tx, err := s.p.st.Begin(ctx, immediate)
	if err != nil {
		return nil, mapErr(err)
	}
	t := &Transaction{tx: tx, autocommit: autocommit && !explicit,
		st: s.p.st, beginPid: ctx.Pid(), pinned: !explicit}
	s.mu.Lock()
	s.cur = t
	s.mu.Unlock()
	return t, nil
}

// abandonCurrent rolls back a transaction that the engine dropped without
// COMMIT or ROLLBACK (it does so after some statement errors), so it
// cannot keep the write lock.
func (s *Session) abandonCurrent() {
	s.mu.Lock()
	cur := s.cur
	s.cur = nil
	s.mu.Unlock()
	if cur != nil {
		cur.current().Rollback()
	}
}

// CommitTransaction implements sql.TransactionSession. It returns after
// the commit is durable; the engine sends the client's OK only afterwards.
func (s *Session) CommitTransaction(ctx *sql.Context, tx sql.Transaction) error {
	t, ok := tx.(*Transaction)
	if !ok {
		return fmt.Errorf("unexpected transaction type %T", tx)
	}
	if err := t.current().Commit(ctx); err != nil {
		return mapErr(err)
	}
	return nil
}

// Rollback implements sql.TransactionSession.
func (s *Session) Rollback(ctx *sql.Context, tx sql.Transaction) error {
	if t, ok := tx.(*Transaction); ok {
		t.current().Rollback()
	}
	return nil
}

// CreateSavepoint implements sql.TransactionSession.
func (s *Session) CreateSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	if t, ok := tx.(*Transaction); ok {
		t.current().Savepoint(name)
	}
	return nil
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *Session) RollbackToSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	if t, ok := tx.(*Transaction); ok && !t.current().RollbackToSavepoint(name) {
		return sql.ErrSavepointDoesNotExist.New(name)
	}
	return nil
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *Session) ReleaseSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	if t, ok := tx.(*Transaction); ok && !t.current().ReleaseSavepoint(name) {
		return sql.ErrSavepointDoesNotExist.New(name)
	}
	return nil
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession. A statement-scoped
// (autocommit) transaction still open here did not commit, i.e. the
// statement failed: roll it back so that nothing is left behind and the
// write lock is released before the client's next command.
func (s *Session) CommandEnd() {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil || cur.current().Done() {
		return
	}
	if s.GetTransaction() != cur {
		cur.current().Rollback() // dropped by the engine
		return
	}
	if cur.autocommit && !s.GetIgnoreAutoCommit() {
		cur.current().Rollback()
		s.SetTransaction(nil)
	}
}

// SessionEnd implements sql.LifecycleAwareSession.
func (s *Session) SessionEnd() { s.abandonCurrent() }

// storeTx returns the store transaction of the statement's session, or
// nil if there is none.
func storeTx(ctx *sql.Context) *store.Tx {
	if ctx == nil || ctx.Session == nil {
		return nil
	}
	if t, ok := ctx.GetTransaction().(*Transaction); ok {
		t.pin(ctx)
		if tx := t.current(); !tx.Done() {
			return tx
		}
	}
	return nil
}

// readTx returns the transaction to read through: the session's, or a
// snapshot of the committed head.
func (p *Provider) readTx(ctx *sql.Context) *store.Tx {
	if tx := storeTx(ctx); tx != nil {
		return tx
	}
	return p.st.Snapshot()
}

// writeTx returns the session's transaction for a mutation.
func writeTx(ctx *sql.Context) (*store.Tx, error) {
	if tx := storeTx(ctx); tx != nil {
		return tx, nil
	}
	return nil, errors.New("no open transaction for write")
}

// asEngineErr says which engine error a store error becomes for one
// catalog change (the engine's error names the object).
type asEngineErr struct {
	is error
	as error
}

// changeCatalog runs change in the session's write transaction and
// translates its error: first by the change's own table, then by mapErr.
func changeCatalog(ctx *sql.Context, change func(tx *store.Tx) error, table ...asEngineErr) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	if err := change(tx); err != nil {
		for _, m := range table {
			if errors.Is(err, m.is) {
				return m.as
			}
		}
		return mapErr(err)
	}
	return nil
}

// mapErr translates store errors into engine/MySQL errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var dup *store.DuplicateKeyError
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflictError(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &dup):
		return sql.NewUniqueKeyErr(fmt.Sprintf("%v", dup.Key), dup.IsPK, sql.Row(dup.Existing))
	case errors.Is(err, store.ErrRowNotFound):
		return sql.ErrDeleteRowNotFound.New()
	case errors.Is(err, syscall.ENOSPC):
		return mysql.NewSQLError(mysql.ERDiskFull, "HY000",
			"Disk full: this commit is not acknowledged and the server is stopping (fail-stop); free space and restart it (%v)", err)
	case errors.Is(err, store.ErrStopped):
		return mysql.NewSQLError(mysql.ERUnknownError, "HY000",
			"The server is stopping after a storage failure; nothing is committed any more (%v)", err)
	case errors.Is(err, journal.ErrRecordTooLarge):
		return mysql.NewSQLError(mysql.ERTooBigRowSize, "42000",
			"Row size too large: a row must fit one journal record of %d bytes; nothing was committed (%v)", journal.MaxRecordBody, err)
	}
	return err
}
