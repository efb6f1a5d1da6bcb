package sqlbackend

import (
	"context"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/crashrig/crashrig/database/store"
)

// Provider is the engine's database provider over one store.
type Provider struct {
	st *store.Store
	// processes is the engine's process list (set by NewServer), used to
	// cancel the commands of clients that went away.
	processes sql.ProcessList
}

var (
	_ sql.MutableDatabaseProvider         = (*Provider)(nil)
	_ sql.ExternalStoredProcedureProvider = (*Provider)(nil)
)

// NewProvider returns a provider for st.
func NewProvider(st *store.Store) *Provider { return &Provider{st: st} }

// Store returns the underlying store.
func (p *Provider) Store() *store.Store { return p.st }

// Database implements sql.DatabaseProvider.
func (p *Provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	d, ok := p.readTx(ctx).Catalog().DB(name)
	if !ok {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	return &Database{p: p, name: d.Name}, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *Provider) HasDatabase(ctx *sql.Context, name string) bool {
	_, ok := p.readTx(ctx).Catalog().DB(name)
	return ok
}

// AllDatabases implements sql.DatabaseProvider.
func (p *Provider) AllDatabases(ctx *sql.Context) []sql.Database {
	var out []sql.Database
	for _, n := range p.readTx(ctx).Catalog().DBNames() {
		out = append(out, &Database{p: p, name: n})
	}
	return out
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (p *Provider) CreateDatabase(ctx *sql.Context, name string) error {
	return changeCatalog(ctx, func(tx *store.Tx) error { return tx.CreateDatabase(ctx, name) },
		asEngineErr{store.ErrDatabaseExists, sql.ErrDatabaseExists.New(name)})
}

// DropDatabase implements sql.MutableDatabaseProvider.
func (p *Provider) DropDatabase(ctx *sql.Context, name string) error {
	return changeCatalog(ctx, func(tx *store.Tx) error { return tx.DropDatabase(ctx, name) },
		asEngineErr{store.ErrNoDatabase, sql.ErrDatabaseNotFound.New(name)})
}

// GCProcedureName is the stored procedure that runs GC.
const GCProcedureName = "crashrig_gc"

var gcSchema = sql.Schema{
	{Name: "generation", Type: types.Uint64},
	{Name: "chunks_before", Type: types.Int64},
	{Name: "chunks_after", Type: types.Int64},
	{Name: "journal", Type: types.LongText},
}

// ExternalStoredProcedure implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedure(_ *sql.Context, name string, numOfParams int) (*sql.ExternalStoredProcedureDetails, error) {
	if !strings.EqualFold(name, GCProcedureName) || numOfParams != 0 {
		return nil, nil
	}
	d := p.gcProcedure()
	return &d, nil
}

// ExternalStoredProcedures implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedures(_ *sql.Context, name string) ([]sql.ExternalStoredProcedureDetails, error) {
	if !strings.EqualFold(name, GCProcedureName) {
		return nil, nil
	}
	return []sql.ExternalStoredProcedureDetails{p.gcProcedure()}, nil
}

func (p *Provider) gcProcedure() sql.ExternalStoredProcedureDetails {
	return sql.ExternalStoredProcedureDetails{
		Name:   GCProcedureName,
		Schema: gcSchema,
		Function: func(ctx *sql.Context) (sql.RowIter, error) {
			st, err := p.st.GC(ctx, storeTx(ctx))
			if err != nil {
				return nil, fmt.Errorf("crashrig_gc: %w", err)
			}
			return sql.RowsToRowIter(sql.Row{st.Generation, int64(st.Before), int64(st.After), st.Journal}), nil
		},
		ReadOnly: false,
	}
}

// grantPersister stores go-mysql-server's serialized grant tables in the
// catalog root, through the same journal and fsync as every other commit.
type grantPersister struct{ st *store.Store }

// Persist implements mysql_db.MySQLDbPersistence. It returns after the
// grant change is durable. Like MySQL's account statements it commits
// implicitly: if the session's transaction holds the write lock the
// change joins it and it is committed now.
func (g grantPersister) Persist(ctx *sql.Context, data []byte) error {
	if t, ok := ctx.GetTransaction().(*Transaction); ok {
		if tx := t.current(); !tx.Done() && tx.IsWriter() {
			if err := tx.SetGrants(ctx, data); err != nil {
				return mapErr(err)
			}
			if err := tx.Commit(ctx); err != nil {
				return mapErr(err)
			}
			// The engine still holds this transaction; give it a fresh one
			// so that later statements keep working.
			nt, err := g.st.Begin(ctx, false)
			if err != nil {
				return mapErr(err)
			}
			t.replace(nt)
			return nil
		}
	}
	var c context.Context = context.Background()
	if ctx != nil {
		c = ctx
	}
	tx, err := g.st.Begin(c, true)
	if err != nil {
		return mapErr(err)
	}
	if err := tx.SetGrants(c, data); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit(c))
}
