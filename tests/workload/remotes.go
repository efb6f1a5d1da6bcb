package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// remotes exercises Dolt's remotes against a file remote on the data disk
// (model.CheckRemotes): one client commits a key and pushes
// (dolt_commit, dolt_push), clones the remote into new databases
// (dolt_clone), pulls into them (dolt_pull), and adds and removes extra
// remotes (dolt_remote). What a push acknowledged must be in the remote
// after a crash, a clone must be complete or absent, and the remote
// metadata must be what was acknowledged.
type remotes struct {
	opts Options
	// Only the single client touches these.
	next    int64    // next key
	clones  []string // acknowledged clones, the pulls' targets
	extra   []string // acknowledged extra remotes, removal candidates
	nextObj int
}

func newRemotes(opts Options) *remotes { return &remotes{opts: opts} }

const (
	remotesDB     = DB + "_remotes"
	remotesClone  = DB + "_rclone_"
	remotesExtra  = "x"
	maxClones     = 12 // each is a database the snapshot reads
	remoteTimeout = 60 * time.Second
)

// remoteURL is a file remote in the guest: on the data disk
// (Options.RemoteDir), beside the server's own data, so it sees the same
// crashes.
func (w *remotes) remoteURL(name string) string {
	return "file://" + w.opts.RemoteDir + "/" + name
}

func (w *remotes) Name() string { return model.Remotes }

// Clients is 1: clones and pulls are judged against the pushes before them.
func (w *remotes) Clients(int) int { return 1 }

func (w *remotes) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("remotes setup: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{
		"CREATE DATABASE " + remotesDB,
		"USE " + remotesDB,
		"CREATE TABLE r (k BIGINT PRIMARY KEY)",
		"CALL dolt_commit('-Am', 'crashrig remotes setup')",
		"CALL dolt_remote('add', 'origin', '" + w.remoteURL("origin") + "')",
		"CALL dolt_push('origin', 'main')",
	} {
		p := rec.Invoke(history.SetupProcess, w.Name(), model.FSetupRemotes, map[string]string{"sql": q})
		err := drain(conn.QueryContext(ctx, q))
		p.Done(err, true)
		if err != nil {
			return fmt.Errorf("remotes setup %q: %w", q, err)
		}
	}
	return nil
}

// drain reads and closes a procedure's result set.
func drain(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return errors.Join(rows.Err(), rows.Close())
}

// call runs statements in order on conn, in database dbName.
func call(ctx context.Context, conn *sql.Conn, dbName string, stmts ...string) error {
	if err := drain(conn.QueryContext(ctx, "USE "+quoteName(dbName))); err != nil {
		return err
	}
	for _, q := range stmts {
		if err := drain(conn.QueryContext(ctx, q)); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (w *remotes) Run(ctx context.Context, c *Client) {
	// Remote operations copy whole databases: give them more than a row
	// write's timeout.
	c.opts.OpTimeout = max(c.opts.OpTimeout, remoteTimeout)
	for c.Think(ctx) {
		switch r := c.RNG.Float64(); {
		case r < 0.08 && len(w.clones) < maxClones:
			name := fmt.Sprintf("%s%d", remotesClone, w.nextObj)
			w.nextObj++
			t := c.op(ctx, model.FClone, model.RemotesValue{Clone: name}, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
				return nil, true, call(ctx, conn, remotesDB, "CALL dolt_clone('"+w.remoteURL("origin")+"', '"+name+"')")
			})
			if t == history.OK {
				w.clones = append(w.clones, name)
			}
		case r < 0.2 && len(w.clones) > 0:
			name := w.clones[c.RNG.IntN(len(w.clones))]
			c.op(ctx, model.FPull, model.RemotesValue{Clone: name}, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
				return nil, true, call(ctx, conn, name, "CALL dolt_pull('origin')")
			})
		case r < 0.26:
			name := fmt.Sprintf("%s%d", remotesExtra, w.nextObj)
			w.nextObj++
			t := c.op(ctx, model.FRemoteAdd, model.RemotesValue{Remote: name}, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
				return nil, true, call(ctx, conn, remotesDB, "CALL dolt_remote('add', '"+name+"', '"+w.remoteURL(name)+"')")
			})
			if t == history.OK {
				w.extra = append(w.extra, name)
			}
		case r < 0.3 && len(w.extra) > 0:
			// Remove at most once, whatever the outcome.
			i := c.RNG.IntN(len(w.extra))
			name := w.extra[i]
			w.extra = slices.Delete(w.extra, i, i+1)
			c.op(ctx, model.FRemoteRemove, model.RemotesValue{Remote: name}, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
				return nil, true, call(ctx, conn, remotesDB, "CALL dolt_remote('remove', '"+name+"')")
			})
		default:
			k := w.next
			w.next++
			// A failed push may leave its row or commit behind; the next
			// push's commit (-a) and push carry it, which the checker
			// allows (only acknowledged pushes must be in the remote).
			c.op(ctx, model.FPush, model.RemotesValue{K: k}, func(ctx context.Context, conn *sql.Conn) (any, bool, error) {
				return nil, true, call(ctx, conn, remotesDB,
					fmt.Sprintf("INSERT INTO r VALUES (%d)", k),
					fmt.Sprintf("CALL dolt_commit('-am', 'key %d')", k),
					"CALL dolt_push('origin', 'main')")
			})
		}
	}
}

func (w *remotes) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.RemotesState{Remote: []int64{}, Remotes: []string{}, Clones: map[string][]int64{}}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := drain(conn.QueryContext(ctx, "USE "+remotesDB)); IsNoSuchTable(err) {
		st.Missing = true
		return marshal(st)
	} else if err != nil {
		return nil, fmt.Errorf("remotes snapshot: %w", err)
	}
	// The remote's main as the remote has it now.
	if err := drain(conn.QueryContext(ctx, "CALL dolt_fetch('origin')")); err != nil {
		return nil, fmt.Errorf("remotes snapshot: fetch the remote: %w", err)
	}
	if st.Remote, err = connInts(ctx, conn, "SELECT k FROM r AS OF 'remotes/origin/main' ORDER BY k"); err != nil {
		return nil, fmt.Errorf("remotes snapshot: read the remote: %w", err)
	}
	names, err := connStrings(ctx, conn, "SELECT name FROM dolt_remotes WHERE name <> 'origin' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("remotes snapshot: %w", err)
	}
	st.Remotes = append(st.Remotes, names...)
	dbs, err := connStrings(ctx, conn, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("remotes snapshot: %w", err)
	}
	for _, d := range dbs {
		if !strings.HasPrefix(d, remotesClone) {
			continue
		}
		keys, err := connInts(ctx, conn, "SELECT k FROM "+quoteName(d)+".r ORDER BY k")
		if err != nil {
			if st.Broken == nil {
				st.Broken = map[string]string{}
			}
			st.Broken[d] = err.Error()
			continue
		}
		st.Clones[d] = keys
	}
	return marshal(st)
}

func connInts(ctx context.Context, conn *sql.Conn, q string) ([]int64, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func connStrings(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
