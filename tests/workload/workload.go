package workload

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crashrig/crashrig/serverkind"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// DB is the database all workload tables live in.
const DB = "crashrig"

// Workload is one kind of traffic plus the rules its results must obey.
type Workload interface {
	// Name identifies the workload in histories and reports.
	Name() string
	// Clients is how many concurrent clients to run, given the number the
	// user asked for per workload.
	Clients(requested int) int
	// Setup creates the workload's tables (recording each statement as a
	// setup op, since acknowledged DDL must survive crashes too).
	Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error
	// Run issues operations through c until ctx is done, riding out
	// connection loss. It is called once per crash cycle for each client;
	// state that must outlive a cycle (key counters) lives in the Workload,
	// indexed by c.Index.
	Run(ctx context.Context, c *Client)
	// Snapshot reads the workload's tables into a JSON document (the
	// model's state type of this workload), which checker.For(Name())
	// judges. A missing table is part of the state, not an error.
	Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error)
}

// Options tune all workloads.
type Options struct {
	Flavor model.Flavor
	// Server is the target's spec: its GC statement, for one (default: the
	// bundled server's).
	Server *serverkind.Spec
	// RemoteDir is where the remotes workload keeps its file remotes, as
	// the server sees it (default: remotes on the guest's data disk).
	RemoteDir string
	// OpTimeout bounds each operation, so a hung server yields info ops
	// rather than a hung test.
	OpTimeout time.Duration
	// GCInterval is the pause between GC runs.
	GCInterval time.Duration
	// ThinkTime is the mean pause between a DML client's operations. It
	// rate-limits the autocommit writers: the bundled server serialises
	// writes behind one lock, and an explicit transaction (bank) fails with
	// 1213 whenever another commit lands between its BEGIN and its first
	// write, which under unthrottled autocommit traffic is always.
	ThinkTime time.Duration
	// ValueSizes is the payload length distribution of the set workload's
	// inserts (-crash.value-size); the zero value writes none.
	ValueSizes model.ValueSizes
	// Isolation is the level the append workload's transactions ask for
	// (SET TRANSACTION ISOLATION LEVEL) and are judged against; the zero
	// value is model.DefaultIsolation.
	Isolation model.Isolation
}

func (o Options) withDefaults() Options {
	if o.Flavor == "" {
		o.Flavor = model.Bundled
	}
	if o.Server == nil {
		o.Server, _ = serverkind.Builtin(serverkind.Bundled)
	}
	if o.RemoteDir == "" {
		o.RemoteDir = serverkind.GuestDataDir + "/remotes"
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 10 * time.Second
	}
	if o.GCInterval == 0 {
		o.GCInterval = 200 * time.Millisecond
	}
	if o.ThinkTime == 0 {
		o.ThinkTime = 5 * time.Millisecond
	}
	if o.Isolation.Name == "" {
		o.Isolation, _ = model.LookupIsolation(model.DefaultIsolation)
	}
	return o
}

// Compile-time checks that every workload implements Workload.
var (
	_ Workload = (*set)(nil)
	_ Workload = (*register)(nil)
	_ Workload = (*bank)(nil)
	_ Workload = (*ddl)(nil)
	_ Workload = (*gc)(nil)
	_ Workload = (*appendW)(nil)
	_ Workload = (*users)(nil)
)

// generators builds each workload of model.Workloads.
var generators = map[string]func(Options) Workload{
	model.Set:      func(o Options) Workload { return newSet(o) },
	model.Register: func(o Options) Workload { return newRegister(o) },
	model.Bank:     func(o Options) Workload { return newBank(o) },
	model.DDL:      func(o Options) Workload { return newDDL(o) },
	model.GC:       func(o Options) Workload { return newGC(o) },
	model.Append:   func(o Options) Workload { return newAppend(o) },
	model.Users:    func(o Options) Workload { return newUsers(o) },
	model.Remotes:  func(o Options) Workload { return newRemotes(o) },
}

// New returns the named workload.
func New(name string, opts Options) (Workload, error) {
	g, ok := generators[name]
	if !ok {
		return nil, model.CheckWorkloads([]string{name})
	}
	return g(opts.withDefaults()), nil
}

// Client is one sequential client: it owns at most one connection and
// records every operation it performs.
type Client struct {
	// ID is the history process id, unique across workloads.
	ID int
	// Index is the client's number within its workload (0..Clients-1).
	Index int
	// RNG drives the client's choices; seeded from the run seed and ID so
	// a seed reproduces them.
	RNG *rand.Rand

	workload string
	// useDB is the database a new connection selects (Workload with
	// UsesDatabase), outside any operation; "" for none.
	useDB   string
	db      *sql.DB
	rec     *history.Recorder
	opts    Options
	conn    *sql.Conn
	backoff time.Duration
}

// NewClient returns a client of workload w with process id id.
func NewClient(w Workload, id, index int, seed uint64, db *sql.DB, rec *history.Recorder, opts Options) *Client {
	c := &Client{
		ID: id, Index: index, RNG: rand.New(rand.NewPCG(seed, uint64(id))),
		workload: w.Name(), db: db, rec: rec, opts: opts.withDefaults(),
	}
	if u, ok := w.(UsesDatabase); ok {
		c.useDB = u.Database()
	}
	return c
}

// UsesDatabase is a workload whose statements need a current database (the
// DSN names none): its clients' connections select it when they connect,
// before any operation, so a broken connection there is no failed op.
type UsesDatabase interface {
	Database() string
}

const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// connect returns the client's connection, reconnecting with exponential
// backoff while the server is down. It fails only when ctx is done.
func (c *Client) connect(ctx context.Context) (*sql.Conn, error) {
	for c.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := c.db.Conn(cctx)
		if err == nil {
			if err = conn.PingContext(cctx); err == nil && c.useDB != "" {
				_, err = conn.ExecContext(cctx, "USE "+c.useDB)
			}
			if err != nil {
				discard(conn)
			} else {
				c.conn, c.backoff = conn, 0
			}
		}
		cancel()
		if c.conn != nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.backoff = min(max(2*c.backoff, minBackoff), maxBackoff)
		if err := Sleep(ctx, c.backoff); err != nil {
			return nil, err
		}
	}
	return c.conn, nil
}

// discard closes conn and keeps database/sql from pooling it again: after
// a reset, EOF or timeout its protocol state is unknown.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Close releases the client's connection (it is reopened on demand).
func (c *Client) Close() {
	if c.conn != nil {
		discard(c.conn)
		c.conn = nil
	}
}

func (c *Client) after(err error) {
	if history.IsConnectionError(err) {
		c.Close()
	}
}

// op performs operation f with value: it connects (returning "" if ctx
// ended first), records the invoke, runs run under the op timeout and
// records the outcome; an ok completion carries run's result as its value
// when there is one (what a read returned). run reports whether the
// statement that makes the op take effect may have reached the server (see
// history.Pending.Done).
func (c *Client) op(ctx context.Context, f string, value any, run func(ctx context.Context, conn *sql.Conn) (result any, sent bool, err error)) history.Type {
	conn, err := c.connect(ctx)
	if err != nil {
		return ""
	}
	p := c.rec.Invoke(c.ID, c.workload, f, value)
	octx, cancel := context.WithTimeout(ctx, c.opts.OpTimeout)
	defer cancel()
	result, sent, err := run(octx, conn)
	c.after(err)
	t := history.Classify(err, sent)
	if t == history.OK {
		p.Complete(t, result, nil)
	} else {
		p.Complete(t, nil, err)
	}
	return t
}

// Exec performs one autocommit statement as operation f with value and
// returns its outcome, or "" if ctx ended before the op was invoked.
func (c *Client) Exec(ctx context.Context, f string, value any, query string, args ...any) history.Type {
	return c.op(ctx, f, value, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
		_, err := conn.ExecContext(ctx, query, args...)
		return nil, true, err
	})
}

// Read performs one autocommit read as operation f; the ok completion
// carries what read returned.
func (c *Client) Read(ctx context.Context, f string, value any, read func(ctx context.Context, conn *sql.Conn) (any, error)) history.Type {
	return c.op(ctx, f, value, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
		result, err := read(ctx, conn)
		return result, true, err
	})
}

// Query performs one statement whose result set is discarded (e.g. a
// procedure call or OPTIMIZE TABLE) as operation f.
func (c *Client) Query(ctx context.Context, f string, value any, query string) history.Type {
	return c.op(ctx, f, value, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
		return nil, true, drain(conn.QueryContext(ctx, query))
	})
}

// Tx performs fn in an explicit transaction and commits it, as operation
// f. Any error before COMMIT is sent is a definite failure (the server
// rolls the transaction back); an error from COMMIT is classified.
func (c *Client) Tx(ctx context.Context, f string, value any, fn func(ctx context.Context, tx *sql.Tx) error) history.Type {
	return c.TxResult(ctx, f, value, "", func(ctx context.Context, tx *sql.Tx) (any, error) { return nil, fn(ctx, tx) })
}

// TxResult is Tx after isolationStmt (the target's statement that sets the
// next transaction's level, run before BEGIN; empty: the server's
// default), whose ok completion carries fn's result (what the transaction
// read) as its value.
func (c *Client) TxResult(ctx context.Context, f string, value any, isolationStmt string, fn func(ctx context.Context, tx *sql.Tx) (any, error)) history.Type {
	return c.op(ctx, f, value, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
		if isolationStmt != "" {
			if _, err := conn.ExecContext(ctx, isolationStmt); err != nil {
				return nil, false, fmt.Errorf("set isolation level: %w", err)
			}
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, false, err
		}
		result, err := fn(ctx, tx)
		if err != nil {
			_ = tx.Rollback()
			return nil, false, err
		}
		return result, true, tx.Commit()
	})
}

// Think pauses for a random time around the configured think time; it
// returns false when ctx is done.
func (c *Client) Think(ctx context.Context) bool {
	if c.opts.ThinkTime < 0 {
		return ctx.Err() == nil
	}
	return Sleep(ctx, time.Duration(c.RNG.Int64N(int64(2*c.opts.ThinkTime)+1))) == nil
}

// Sleep waits d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// setupExec runs one setup statement, recorded as a setup op.
func setupExec(ctx context.Context, db *sql.DB, rec *history.Recorder, workload, f string, value any, query string, args ...any) error {
	p := rec.Invoke(history.SetupProcess, workload, f, value)
	_, err := db.ExecContext(ctx, query, args...)
	p.Done(err, true)
	if err != nil {
		return fmt.Errorf("%s setup %q: %w", workload, query, err)
	}
	return nil
}

// IsNoSuchTable reports whether err is MySQL's "table doesn't exist" or
// "unknown database": after a crash that lost a table, the snapshot
// records it as missing instead of failing.
func IsNoSuchTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049)
}

// readTx runs fn in one read transaction, so multi-table snapshots are
// consistent.
func readTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// snapshotResult finishes a Snapshot read into *st (pass a pointer:
// missing points into it): a missing table is part of the state, for the
// checker to judge; any other error is returned.
func snapshotResult(st any, missing *bool, err error) (json.RawMessage, error) {
	if IsNoSuchTable(err) {
		*missing, err = true, nil
	}
	if err != nil {
		return nil, err
	}
	return marshal(st)
}

func marshal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	return b, nil
}
