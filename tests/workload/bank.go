package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// bank moves money between accounts in explicit multi-statement
// transactions that also insert a transfer-log row (model.CheckBank).
type bank struct {
	opts Options
	mu   sync.Mutex
	seq  map[int]int64
}

func newBank(opts Options) *bank { return &bank{opts: opts, seq: map[int]int64{}} }

const (
	acctTable      = DB + ".crash_acct"
	xferTable      = DB + ".crash_xfer"
	bankAccounts   = 8
	initialBalance = 1000
)

func (w *bank) Name() string              { return model.Bank }
func (w *bank) Clients(requested int) int { return requested }

func (w *bank) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	if err := setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+acctTable+" (id BIGINT PRIMARY KEY, bal BIGINT NOT NULL)"); err != nil {
		return err
	}
	if err := setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil,
		"CREATE TABLE "+xferTable+" (id BIGINT PRIMARY KEY, src BIGINT NOT NULL, dst BIGINT NOT NULL, amount BIGINT NOT NULL)"); err != nil {
		return err
	}
	vals := make([]string, bankAccounts)
	for i := range vals {
		vals[i] = fmt.Sprintf("(%d, %d)", i, initialBalance)
	}
	return setupExec(ctx, db, rec, w.Name(), model.FSetupAccounts, model.BankSetup{Accounts: bankAccounts, Initial: initialBalance},
		"INSERT INTO "+acctTable+" (id, bal) VALUES "+strings.Join(vals, ", "))
}

func (w *bank) Run(ctx context.Context, c *Client) {
	for c.Think(ctx) {
		w.mu.Lock()
		id := model.ClientID(c.ID, w.seq[c.Index])
		w.seq[c.Index]++
		w.mu.Unlock()
		from := int64(c.RNG.IntN(bankAccounts))
		to := (from + 1 + int64(c.RNG.IntN(bankAccounts-1))) % bankAccounts
		t := model.Transfer{ID: id, From: from, To: to, Amount: 1 + int64(c.RNG.IntN(50))}
		c.Tx(ctx, model.FTransfer, t, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "UPDATE "+acctTable+" SET bal = bal - ? WHERE id = ?", t.Amount, t.From); err != nil {
				return fmt.Errorf("debit: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE "+acctTable+" SET bal = bal + ? WHERE id = ?", t.Amount, t.To); err != nil {
				return fmt.Errorf("credit: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO "+xferTable+" (id, src, dst, amount) VALUES (?, ?, ?, ?)", t.ID, t.From, t.To, t.Amount); err != nil {
				return fmt.Errorf("log: %w", err)
			}
			return nil
		})
	}
}

func (w *bank) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.BankState{Balances: map[int64]int64{}, Log: []model.Transfer{}}
	err := readTx(ctx, db, func(tx *sql.Tx) error {
		if err := readPairs(ctx, tx, "SELECT id, bal FROM "+acctTable, st.Balances); err != nil {
			return fmt.Errorf("read %s: %w", acctTable, err)
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, src, dst, amount FROM "+xferTable)
		if err != nil {
			return fmt.Errorf("read %s: %w", xferTable, err)
		}
		defer rows.Close()
		for rows.Next() {
			var t model.Transfer
			if err := rows.Scan(&t.ID, &t.From, &t.To, &t.Amount); err != nil {
				return fmt.Errorf("scan %s: %w", xferTable, err)
			}
			st.Log = append(st.Log, t)
		}
		return rows.Err()
	})
	return snapshotResult(&st, &st.Missing, err)
}
