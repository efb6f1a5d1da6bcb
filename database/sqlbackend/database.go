package sqlbackend

import (
	"errors"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/crashrig/crashrig/database/store"
)

// Database is a handle on one database; every call reads the session's
// transaction, so a handle never goes stale.
type Database struct {
	p    *Provider
	name string
}

var (
	_ sql.Database     = (*Database)(nil)
	_ sql.TableCreator = (*Database)(nil)
	_ sql.TableDropper = (*Database)(nil)
	_ sql.TableRenamer = (*Database)(nil)
)

// Name implements sql.Nameable.
func (d *Database) Name() string { return d.name }

// GetTableInsensitive implements sql.Database.
func (d *Database) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	db, ok := d.p.readTx(ctx).Catalog().DB(d.name)
	if !ok {
		return nil, false, nil
	}
	t, ok := db.Table(name)
	if !ok {
		return nil, false, nil
	}
	tbl, err := newTable(d, t)
	if err != nil {
		return nil, false, err
	}
	return tbl, true, nil
}

// GetTableNames implements sql.Database.
func (d *Database) GetTableNames(ctx *sql.Context) ([]string, error) {
	db, ok := d.p.readTx(ctx).Catalog().DB(d.name)
	if !ok {
		return nil, nil
	}
	return db.TableNames(), nil
}

// CreateTable implements sql.TableCreator.
func (d *Database) CreateTable(ctx *sql.Context, name string, sch sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	def, err := tableDef(name, sch, collation, comment)
	if err != nil {
		return err
	}
	return changeCatalog(ctx, func(tx *store.Tx) error { return tx.CreateTable(ctx, d.name, def) },
		asEngineErr{store.ErrTableExists, sql.ErrTableAlreadyExists.New(name)})
}

// DropTable implements sql.TableDropper.
func (d *Database) DropTable(ctx *sql.Context, name string) error {
	return changeCatalog(ctx, func(tx *store.Tx) error { return tx.DropTable(ctx, d.name, name) },
		asEngineErr{store.ErrNoTable, sql.ErrTableNotFound.New(name)})
}

// RenameTable implements sql.TableRenamer.
func (d *Database) RenameTable(ctx *sql.Context, oldName, newName string) error {
	return changeCatalog(ctx, func(tx *store.Tx) error { return tx.RenameTable(ctx, d.name, oldName, newName) },
		asEngineErr{store.ErrNoTable, sql.ErrTableNotFound.New(oldName)},
		asEngineErr{store.ErrTableExists, sql.ErrTableAlreadyExists.New(newName)})
}

var _ sql.CollatedDatabase = (*Database)(nil)

// GetCollation implements sql.CollatedDatabase. Databases use the server
// default collation; per-database collations are not stored.
func (d *Database) GetCollation(*sql.Context) sql.CollationID { return sql.Collation_Default }

// SetCollation implements sql.CollatedDatabase; see GetCollation.
func (d *Database) SetCollation(*sql.Context, sql.CollationID) error { return nil }

var _ sql.ViewDatabase = (*Database)(nil)

// errNoViews is returned for CREATE/DROP VIEW: views are not stored.
var errNoViews = errors.New("views are not supported by crashrig-sqlserver")

// CreateView implements sql.ViewDatabase.
func (d *Database) CreateView(*sql.Context, string, string, string) error { return errNoViews }

// DropView implements sql.ViewDatabase.
func (d *Database) DropView(*sql.Context, string) error { return errNoViews }

// GetViewDefinition implements sql.ViewDatabase: there are no views.
func (d *Database) GetViewDefinition(*sql.Context, string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}

// AllViews implements sql.ViewDatabase.
func (d *Database) AllViews(*sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

var (
	_ sql.TriggerDatabase         = (*Database)(nil)
	_ sql.StoredProcedureDatabase = (*Database)(nil)
)

var errNoRoutines = errors.New("triggers and stored procedures are not supported by crashrig-sqlserver")

// GetTriggers implements sql.TriggerDatabase: there are none.
func (d *Database) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

// CreateTrigger implements sql.TriggerDatabase.
func (d *Database) CreateTrigger(*sql.Context, sql.TriggerDefinition) error { return errNoRoutines }

// DropTrigger implements sql.TriggerDatabase.
func (d *Database) DropTrigger(*sql.Context, string) error { return errNoRoutines }

// GetStoredProcedure implements sql.StoredProcedureDatabase: only the
// built-in external procedures (crashrig_gc) exist.
func (d *Database) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return errNoRoutines
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) DropStoredProcedure(*sql.Context, string) error { return errNoRoutines }
