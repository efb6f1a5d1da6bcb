package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// register writes increasing values to registers each client owns, reads
// any client's registers, and increments one counter per client
// (model.CheckRegisters; the reads are checked for linearizability).
type register struct {
	opts Options
	mu   sync.Mutex
	next map[int64]int64 // register id -> next value to write
	ids  []int64         // registers written so far, for reads
}

func newRegister(opts Options) *register {
	return &register{opts: opts, next: map[int64]int64{}}
}

const (
	regTable       = DB + ".crash_reg"
	ctrTable       = DB + ".crash_ctr"
	regsPerClient  = 3
	registerWrites = 0.45 // share of ops that write a register
	registerReads  = 0.25 // share that read one; the rest increment
)

func (w *register) Name() string              { return model.Register }
func (w *register) Clients(requested int) int { return requested }

func (w *register) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	if err := setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+regTable+" (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"); err != nil {
		return err
	}
	return setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+ctrTable+" (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
}

func (w *register) Run(ctx context.Context, c *Client) {
	for c.Think(ctx) {
		p := c.RNG.Float64()
		if p >= registerWrites && p < registerWrites+registerReads {
			w.mu.Lock()
			if len(w.ids) == 0 {
				w.mu.Unlock()
				continue
			}
			id := w.ids[c.RNG.IntN(len(w.ids))]
			w.mu.Unlock()
			c.Read(ctx, model.FRead, model.RegisterValue{ID: id}, func(ctx context.Context, conn *sql.Conn) (any, error) {
				var v int64
				err := conn.QueryRowContext(ctx, "SELECT v FROM "+regTable+" WHERE id = ?", id).Scan(&v)
				if errors.Is(err, sql.ErrNoRows) {
					err = nil
				}
				return model.RegisterValue{ID: id, V: v}, err
			})
			continue
		}
		if p < registerWrites {
			id := int64(c.ID)*regsPerClient + int64(c.RNG.IntN(regsPerClient))
			w.mu.Lock()
			if w.next[id] == 0 {
				w.ids = append(w.ids, id)
			}
			w.next[id]++
			v := w.next[id]
			w.mu.Unlock()
			// Monotonic upsert: a stale write that lands late (after an
			// unknown outcome) cannot move the register backwards, so
			// "value >= last acknowledged" holds for a correct server.
			c.Exec(ctx, model.FWrite, model.RegisterValue{ID: id, V: v},
				"INSERT INTO "+regTable+" (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = IF(VALUES(v) > v, VALUES(v), v)", id, v)
			continue
		}
		id := int64(c.ID)
		c.Exec(ctx, model.FIncr, model.RegisterValue{ID: id},
			"INSERT INTO "+ctrTable+" (id, n) VALUES (?, 1) ON DUPLICATE KEY UPDATE n = n + 1", id)
	}
}

func (w *register) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.RegisterState{Registers: map[int64]int64{}, Counters: map[int64]int64{}}
	err := readTx(ctx, db, func(tx *sql.Tx) error {
		for _, t := range []struct {
			table, col string
			into       map[int64]int64
		}{{regTable, "v", st.Registers}, {ctrTable, "n", st.Counters}} {
			if err := readPairs(ctx, tx, "SELECT id, "+t.col+" FROM "+t.table, t.into); err != nil {
				return fmt.Errorf("read %s: %w", t.table, err)
			}
		}
		return nil
	})
	return snapshotResult(&st, &st.Missing, err)
}

func readPairs(ctx context.Context, tx *sql.Tx, query string, into map[int64]int64) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v int64
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
	}
	return rows.Err()
}
