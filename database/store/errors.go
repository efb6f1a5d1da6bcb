package store

import (
	"errors"
	"fmt"
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
