package sqlbackend

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/crashrig/crashrig/database/store"
)

type editor struct {
	t    *Table
	rows int // rows inserted or updated by the statement so far (for errors)
}

func (t *Table) newEditor() *editor { return &editor{t: t} }

// Inserter implements sql.InsertableTable.
func (t *Table) Inserter(*sql.Context) sql.RowInserter { return t.newEditor() }

// Updater implements sql.UpdatableTable.
func (t *Table) Updater(*sql.Context) sql.RowUpdater { return t.newEditor() }

// Deleter implements sql.DeletableTable.
func (t *Table) Deleter(*sql.Context) sql.RowDeleter { return t.newEditor() }

// Replacer implements sql.ReplaceableTable.
func (t *Table) Replacer(*sql.Context) sql.RowReplacer { return t.newEditor() }

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(*sql.Context) sql.AutoIncrementSetter { return t.newEditor() }

func stmtID(ctx *sql.Context) uint64 { return ctx.Pid() }

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(ctx *sql.Context) {
	if tx := storeTx(ctx); tx != nil {
		tx.StatementBegin(stmtID(ctx))
	}
}

// DiscardChanges implements sql.EditOpenerCloser: the failed statement's
// changes are undone, leaving the transaction as before the statement.
func (e *editor) DiscardChanges(ctx *sql.Context, _ error) error {
	if tx := storeTx(ctx); tx != nil {
		tx.DiscardStatement(stmtID(ctx))
	}
	return nil
}

// StatementComplete implements sql.EditOpenerCloser.
func (e *editor) StatementComplete(*sql.Context) error { return nil }

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	if err := e.checkStrings(row); err != nil {
		return err
	}
	return mapErr(tx.Insert(ctx, e.t.db.name, e.t.def.Name, row))
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.Delete(ctx, e.t.db.name, e.t.def.Name, row))
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	if err := e.checkStrings(new); err != nil {
		return err
	}
	return mapErr(tx.Update(ctx, e.t.db.name, e.t.def.Name, old, new))
}

// SetAutoIncrementValue implements sql.AutoIncrementSetter.
func (e *editor) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	tx, err := writeTx(ctx)
	if err != nil {
		return err
	}
	return mapErr(tx.AlterTableMeta(ctx, e.t.db.name, e.t.def.Name, func(t *store.Table) error {
		t.AutoInc = v
		return nil
	}))
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter; the single
// write lock already serialises writers.
func (e *editor) AcquireAutoIncrementLock(*sql.Context) (func(), error) { return func() {}, nil }

// Truncate implements sql.TruncateableTable.
func (t *Table) Truncate(ctx *sql.Context) (int, error) {
	tx, err := writeTx(ctx)
	if err != nil {
		return 0, err
	}
	n, err := tx.Truncate(ctx, t.db.name, t.def.Name)
	return n, mapErr(err)
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *Table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	_, cur, err := t.current(ctx)
	if err != nil {
		return 0, err
	}
	return max(cur.AutoInc, 1), nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable.
func (t *Table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	tx, err := writeTx(ctx)
	if err != nil {
		return 0, err
	}
	var given uint64
	if insertVal != nil {
		v, _, err := types.Uint64.Convert(ctx, insertVal)
		if err == nil {
			given, _ = v.(uint64)
		}
	}
	n, err := tx.NextAutoIncrement(ctx, t.db.name, t.def.Name, given)
	return n, mapErr(err)
}

// checkStrings refuses a row that puts bytes that are not UTF-8 into a
// utf8mb4 (or utf8mb3) column, with MySQL's error 1366. The engine stores
// what it is given (e.g. X'FF' or a binary parameter) but refuses such a
// value when it later converts it (CONCAT, comparisons), so a stored row
// could not be read back whole.
func (e *editor) checkStrings(row sql.Row) error {
	e.rows++
	tableCharset := e.t.Collation().CharacterSet()
	for i, col := range e.t.sch.Schema {
		if i >= len(row) {
			break
		}
		st, ok := col.Type.(sql.StringType)
		if !ok {
			continue
		}
		cs := st.CharacterSet()
		if cs == sql.CharacterSet_Unspecified { // the table's
			cs = tableCharset
		}
		if cs != sql.CharacterSet_utf8mb4 && cs != sql.CharacterSet_utf8mb3 {
			continue
		}
		var b []byte
		switch v := row[i].(type) {
		case string:
			b = []byte(v)
		case []byte:
			b = v
		default:
			continue
		}
		if utf8.Valid(b) {
			continue
		}
		return mysql.NewSQLError(mysql.ERTruncatedWrongValueForField, "HY000",
			"Incorrect string value: '%s' for column '%s' at row %d", invalidUTF8Excerpt(b), col.Name, e.rows)
	}
	return nil
}

// invalidUTF8Excerpt shows b from its first invalid byte as MySQL does:
// up to 6 bytes, printable ASCII as is, the others as \xHH.
func invalidUTF8Excerpt(b []byte) string {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		i += n
	}
	var out strings.Builder
	for j := i; j < len(b) && j < i+6; j++ {
		if c := b[j]; c >= 0x20 && c < 0x7f {
			out.WriteByte(c)
		} else {
			fmt.Fprintf(&out, "\\x%02X", c)
		}
	}
	if len(b) > i+6 {
		out.WriteString("...")
	}
	return out.String()
}
