package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// appendW runs list-append transactions (Elle's workload): each
// transaction is 1-5 micro-ops, append(k, v) with a value unique in the
// run or read(k) of k's whole list, over a few contended keys
// (checker.CheckAppend infers the dependency graph from the reads).
type appendW struct {
	opts Options
	// isolationStmt sets the level before each transaction (the target
	// spec's isolation statement); empty for the server's default.
	isolationStmt string
	mu            sync.Mutex
	// slots are the active keys; a key that has had appendsPerKey appends
	// is retired for a fresh one, so lists (and reads) stay short.
	slots   []int64
	appends []int
	nextKey int64
	nextVal int64
}

const (
	appendTable   = DB + ".crash_append"
	appendSlots   = 8
	appendsPerKey = 48
	maxMicroOps   = 5
	appendRatio   = 0.5
	// zipfS skews key choice so that a few keys carry most of the traffic.
	zipfS = 1.3
)

func newAppend(opts Options) *appendW {
	w := &appendW{opts: opts, slots: make([]int64, appendSlots), appends: make([]int, appendSlots)}
	if opts.Isolation.SQL != "" {
		w.isolationStmt = opts.Server.IsolationStatement(opts.Isolation.SQL)
	}
	for i := range w.slots {
		w.slots[i] = int64(i)
	}
	w.nextKey = appendSlots
	return w
}

func (w *appendW) Name() string              { return model.Append }
func (w *appendW) Clients(requested int) int { return requested }

func (w *appendW) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	// One text column per key: a single read returns the whole order of
	// the appends to it.
	return setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+appendTable+" (k BIGINT PRIMARY KEY, vals LONGTEXT NOT NULL)")
}

// plan draws one transaction's micro-ops.
func (w *appendW) plan(rng *rand.Rand, zipf *rand.Zipf) []model.MicroOp {
	ops := make([]model.MicroOp, 1+rng.IntN(maxMicroOps))
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range ops {
		slot := int(zipf.Uint64())
		k := w.slots[slot]
		if rng.Float64() >= appendRatio {
			ops[i] = model.MicroOp{F: model.MicroRead, K: k}
			continue
		}
		w.nextVal++
		ops[i] = model.MicroOp{F: model.MicroAppend, K: k, V: w.nextVal}
		if w.appends[slot]++; w.appends[slot] >= appendsPerKey {
			w.slots[slot], w.appends[slot] = w.nextKey, 0
			w.nextKey++
		}
	}
	return ops
}

func (w *appendW) Run(ctx context.Context, c *Client) {
	zipf := rand.NewZipf(c.RNG, zipfS, 1, appendSlots-1)
	for c.Think(ctx) {
		ops := w.plan(c.RNG, zipf)
		c.TxResult(ctx, model.FTxn, ops, w.isolationStmt, func(ctx context.Context, tx *sql.Tx) (any, error) {
			done := make([]model.MicroOp, len(ops))
			for i, op := range ops {
				done[i] = op
				if op.F == model.MicroAppend {
					if _, err := tx.ExecContext(ctx, "INSERT INTO "+appendTable+" (k, vals) VALUES (?, ?) ON DUPLICATE KEY UPDATE vals = CONCAT(vals, ',', VALUES(vals))", op.K, strconv.FormatInt(op.V, 10)); err != nil {
						return nil, fmt.Errorf("%v: %w", op, err)
					}
					continue
				}
				list, err := readList(ctx, tx, op.K)
				if err != nil {
					return nil, fmt.Errorf("%v: %w", op, err)
				}
				done[i].List, done[i].Read = list, true
			}
			return done, nil
		})
	}
}

func readList(ctx context.Context, tx *sql.Tx, k int64) ([]int64, error) {
	var s string
	err := tx.QueryRowContext(ctx, "SELECT vals FROM "+appendTable+" WHERE k = ?", k).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return []int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseList(s), nil
}

// parseList reads a comma-separated list; a value that is not a number is
// kept as -1, which no client appends (a garbage read for the checker).
func parseList(s string) []int64 {
	list := []int64{}
	if s == "" {
		return list
	}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			v = -1
		}
		list = append(list, v)
	}
	return list
}

func (w *appendW) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.AppendState{Isolation: w.opts.Isolation.Name, Lists: map[int64][]int64{}}
	err := readTx(ctx, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT k, vals FROM "+appendTable)
		if err != nil {
			return fmt.Errorf("read %s: %w", appendTable, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k int64
				s string
			)
			if err := rows.Scan(&k, &s); err != nil {
				return fmt.Errorf("scan %s: %w", appendTable, err)
			}
			st.Lists[k] = parseList(s)
		}
		return rows.Err()
	})
	return snapshotResult(&st, &st.Missing, err)
}
