package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/database/store"
)

// testServer is an in-process server on 127.0.0.1:0.
type testServer struct {
	t    testing.TB
	dir  string
	st   *store.Store
	srv  *Server
	addr string
	done chan struct{}
}

func startServer(t testing.TB, dir string, opts store.Options, rootPassword string) *testServer {
	t.Helper()
	return startServerCfg(t, dir, opts, Config{RootPassword: rootPassword, AllowEmptyRootPassword: rootPassword == ""})
}

// startServerCfg starts a server with cfg (its Listener is set here).
func startServerCfg(t testing.TB, dir string, opts store.Options, cfg Config) *testServer {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	if opts.FailStop == nil {
		opts.FailStop = func(err error) { t.Errorf("fail-stop: %v", err) }
	}
	st, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	srv, err := NewServer(st, cfg)
	if err != nil {
		_ = ln.Close()
		_ = st.Close()
		t.Fatalf("new server: %v", err)
	}
	ts := &testServer{t: t, dir: dir, st: st, srv: srv, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(ts.done)
		_ = srv.Serve()
	}()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	_ = ts.srv.Close()
	<-ts.done
	_ = ts.st.Close()
	ts.srv = nil
}

func (ts *testServer) dsn(user, pass, db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pass, "tcp", ts.addr, db
	c.Timeout = 5 * time.Second
	c.ParseTime = true
	return c.FormatDSN()
}

func (ts *testServer) open(user, pass, db string) *sql.DB {
	ts.t.Helper()
	db2, err := sql.Open("mysql", ts.dsn(user, pass, db))
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { _ = db2.Close() })
	return db2
}

func mustExec(t testing.TB, q interface {
	Exec(string, ...any) (sql.Result, error)
}, query string, args ...any) sql.Result {
	t.Helper()
	r, err := q.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return r
}

func queryInt(t testing.TB, db interface {
	QueryRow(string, ...any) *sql.Row
}, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func mysqlErrNo(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func rowsStrings(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		s := ""
		for i, v := range vals {
			if i > 0 {
				s += "|"
			}
			if b, ok := v.([]byte); ok {
				s += string(b)
			} else {
				s += fmt.Sprint(v)
			}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// execer adapts *sql.Conn to the helpers' interfaces.
type connExec struct{ c *sql.Conn }

func (c connExec) Exec(q string, args ...any) (sql.Result, error) {
	return c.c.ExecContext(context.Background(), q, args...)
}

func (c connExec) QueryRow(q string, args ...any) *sql.Row {
	return c.c.QueryRowContext(context.Background(), q, args...)
}
