package workload

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// set inserts unique keys and deletes some of its acknowledged ones
// (model.CheckSet).
type set struct {
	opts Options
	mu   sync.Mutex
	// Per client index: next key sequence and the acknowledged, not yet
	// deleted keys it may delete.
	seq  map[int]int64
	live map[int][]int64
}

func newSet(opts Options) *set {
	return &set{opts: opts, seq: map[int]int64{}, live: map[int][]int64{}}
}

const setTable = DB + ".crash_set"

func (w *set) Name() string              { return model.Set }
func (w *set) Clients(requested int) int { return requested }

func (w *set) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	return setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+setTable+" (k BIGINT PRIMARY KEY, client INT NOT NULL, note VARCHAR(32), v LONGBLOB NOT NULL)")
}

// deleteRatio is the share of ops that delete an acknowledged key.
const deleteRatio = 0.2

func (w *set) Run(ctx context.Context, c *Client) {
	for c.Think(ctx) {
		w.mu.Lock()
		live := w.live[c.Index]
		if len(live) > 0 && c.RNG.Float64() < deleteRatio {
			i := c.RNG.IntN(len(live))
			k := live[i]
			// Delete at most once, whatever the outcome: the checker allows
			// one delete per key.
			live[i] = live[len(live)-1]
			w.live[c.Index] = live[:len(live)-1]
			w.mu.Unlock()
			c.Exec(ctx, model.FDel, model.SetValue{K: k}, "DELETE FROM "+setTable+" WHERE k = ?", k)
			continue
		}
		// Keys are unique per client ID across cycles and workloads.
		k := model.ClientID(c.ID, w.seq[c.Index])
		w.seq[c.Index]++
		w.mu.Unlock()
		n := w.opts.ValueSizes.Draw(c.RNG)
		if c.Exec(ctx, model.FAdd, model.SetValue{K: k, Len: n}, "INSERT INTO "+setTable+" (k, client, note, v) VALUES (?, ?, 'crash', ?)", k, c.ID, model.ValueContent(k, n)) == history.OK {
			w.mu.Lock()
			w.live[c.Index] = append(w.live[c.Index], k)
			w.mu.Unlock()
		}
	}
}

func (w *set) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.SetState{Keys: []int64{}, Payloads: true, Values: map[int64]model.StoredValue{}}
	// The payloads are hashed here, row by row (sql.RawBytes, no copy):
	// the bundled server's SHA2() refuses binary strings.
	rows, err := db.QueryContext(ctx, "SELECT k, v FROM "+setTable)
	if IsNoSuchTable(err) {
		st.Missing = true
		return marshal(st)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", setTable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k int64
			v sql.RawBytes
		)
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("scan %s: %w", setTable, err)
		}
		st.Keys = append(st.Keys, k)
		switch {
		case v == nil: // NULL, which no client writes
			st.Values[k] = model.StoredValue{Len: -1}
		case len(v) > 0:
			sum := sha256.Sum256(v)
			st.Values[k] = model.StoredValue{Len: int64(len(v)), SHA256: hex.EncodeToString(sum[:])}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", setTable, err)
	}
	return marshal(st)
}
