package workload

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// gc keeps running the server's garbage collection / compaction during the
// writes, so crashes land inside it: the statement is the target spec's gc
// key (the bundled server's crashrig_gc() rewrites its journal and swaps
// the manifest; on MariaDB, OPTIMIZE TABLE rebuilds the workload tables).
type gc struct{ opts Options }

func newGC(opts Options) *gc { return &gc{opts: opts} }

func (w *gc) Name() string              { return model.GC }
func (w *gc) Clients(requested int) int { return 1 }

// Database: a database-scoped procedure (Dolt's dolt_gc) needs a current
// database; without one Dolt answers "Empty database name" and never
// collects.
func (w *gc) Database() string { return DB }

func (w *gc) Setup(context.Context, *sql.DB, *history.Recorder) error { return nil }

func (w *gc) statement() string {
	return w.opts.Server.GCStatement([]string{setTable, regTable, ctrTable, acctTable, xferTable})
}

func (w *gc) Run(ctx context.Context, c *Client) {
	q := w.statement()
	for ctx.Err() == nil {
		c.Query(ctx, model.FGC, nil, q)
		if Sleep(ctx, w.opts.GCInterval) != nil {
			return
		}
	}
}

func (w *gc) Snapshot(context.Context, *sql.DB) (json.RawMessage, error) {
	return json.RawMessage("{}"), nil
}
