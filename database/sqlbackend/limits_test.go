package sqlbackend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/store"
)

// Issue 17 item 6: an unknown user got "malformed packet" instead of
// MySQL's 1045, and a wrong password must look the same.
func TestUnknownUserGets1045(t *testing.T) {
	ts := startServerCfg(t, t.TempDir(), store.Options{}, Config{RootPassword: "rootpw"})
	for _, c := range []struct{ user, pass string }{{"nobody", "x"}, {"nobody", ""}, {"root", "wrong"}, {"root", ""}} {
		err := ts.open(c.user, c.pass, "").Ping()
		if mysqlErrNo(err) != 1045 {
			t.Errorf("login as %q with password %q: %v, want error 1045", c.user, c.pass, err)
		}
	}
}

// Issue 17 item 5: max_allowed_packet defaulted to 1 GiB and was not
// enforced; max_connections was not enforced.
func TestMaxAllowedPacketIsEnforced(t *testing.T) {
	ts := startServerCfg(t, t.TempDir(), store.Options{}, Config{RootPassword: "rootpw", MaxAllowedPacket: 64 << 10})
	root := ts.open("root", "rootpw", "")
	if n := queryInt(t, root, "SELECT @@max_allowed_packet"); n != 64<<10 {
		t.Fatalf("@@max_allowed_packet = %d", n)
	}
	mustExec(t, root, "CREATE DATABASE app")
	mustExec(t, root, "CREATE TABLE app.t (id INT PRIMARY KEY, v LONGTEXT)")
	// The client must not refuse on its own: let it send up to 1 MiB.
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = "root", "rootpw", "tcp", ts.addr
	c.MaxAllowedPacket = 1 << 20
	big, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	big.SetMaxIdleConns(0)
	mustExec(t, big, "INSERT INTO app.t VALUES (1, ?)", strings.Repeat("a", 60<<10))
	_, err = big.Exec("INSERT INTO app.t VALUES (2, ?)", strings.Repeat("b", 200<<10))
	if err == nil {
		t.Fatal("a 200 KiB statement was accepted with max_allowed_packet = 64 KiB")
	}
	t.Logf("oversized statement: %v", err)
	if n := mysqlErrNo(err); n != 1153 && !errors.Is(err, mysql.ErrInvalidConn) && !errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("oversized statement: %v, want error 1153 or a closed connection", err)
	}
	if n := queryInt(t, root, "SELECT COUNT(*) FROM app.t"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

func TestMaxConnectionsIsEnforced(t *testing.T) {
	ts := startServerCfg(t, t.TempDir(), store.Options{}, Config{RootPassword: "rootpw", MaxConnections: 2})
	db := ts.open("root", "rootpw", "")
	db.SetMaxIdleConns(0) // a released connection is closed, not pooled
	ctx := context.Background()
	var held []*sql.Conn
	for range 2 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	err := ts.open("root", "rootpw", "").Ping()
	if mysqlErrNo(err) != 1040 {
		t.Fatalf("connection over max_connections: %v, want error 1040", err)
	}
	_ = held[0].Close()
	// The freed slot is usable again (the pool's connection is gone).
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := ts.open("root", "rootpw", "").Ping()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection after one was closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 17 item 6: on ENOSPC the server stopped itself (correct) but the
// client only saw "lost connection". It must get a "disk full" error
// first; nothing is acknowledged after the failure.
func TestDiskFullErrorReachesTheClient(t *testing.T) {
	fs := fsys.NewCounting(fsys.OS{})
	var stops atomic.Int32
	opts := store.Options{FS: fs, FailStop: func(error) { stops.Add(1) }}
	ts := startServerCfg(t, t.TempDir(), opts, Config{RootPassword: "rootpw"})
	db := ts.open("root", "rootpw", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY)")
	fs.SetFailWrite(func(name string) error {
		if strings.HasPrefix(name, "journal-") {
			return &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
		}
		return nil
	})
	_, err := db.Exec("INSERT INTO app.t VALUES (1)")
	if mysqlErrNo(err) != 1021 || !strings.Contains(err.Error(), "Disk full") {
		t.Fatalf("insert on a full disk: %v, want error 1021 (disk full)", err)
	}
	if stops.Load() != 1 {
		t.Fatalf("fail-stop ran %d times, want 1", stops.Load())
	}
	fs.SetFailWrite(nil)
	// Space is back, but the store stays stopped: nothing is acknowledged.
	if _, err := db.Exec("INSERT INTO app.t VALUES (2)"); err == nil {
		t.Fatal("a commit succeeded after fail-stop")
	}
}

// Issue 17 item 5: SELECT 1+1+... of 200k terms (or NOT NOT ... 1) kept
// the planner busy for minutes, whether or not the client was still there.
func TestDeeplyNestedStatementIsRefused(t *testing.T) {
	ts := startServerCfg(t, t.TempDir(), store.Options{}, Config{RootPassword: "rootpw"})
	db := ts.open("root", "rootpw", "")
	for name, q := range map[string]string{
		"plus": "SELECT 1" + strings.Repeat("+1", 200000),
		"not":  "SELECT " + strings.Repeat("NOT ", 200000) + "1",
		"or":   "SELECT 1 FROM dual WHERE 1=0" + strings.Repeat(" OR 1=0", MaxNestingDepth+5),
	} {
		// The engine re-wraps parser errors as its generic 1105, so the
		// message is what identifies the refusal.
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%s chain: %v, want the nesting refusal", name, errShort(err))
		}
	}
	// Ordinary nesting and long flat lists stay fine.
	if n := queryInt(t, db, "SELECT 1"+strings.Repeat("+1", 99)); n != 100 {
		t.Fatalf("sum of 100 ones = %d", n)
	}
	in := "SELECT COUNT(*) FROM (SELECT 1 AS x) s WHERE x IN (1" + strings.Repeat(",2", 20000) + ")"
	if n := queryInt(t, db, in); n != 1 {
		t.Fatalf("IN list of 20001: %d", n)
	}
}

func errShort(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Issue 17 item 5: a statement went on after its client had gone. The
// engine only checks while it sends rows; a write that holds the write
// lock (here for 30 s) must stop, and release the lock, once its client
// closes the connection.
func TestStatementStopsWhenClientGoesAway(t *testing.T) {
	ts := startServerCfg(t, t.TempDir(), store.Options{}, Config{RootPassword: "rootpw"})
	db := ts.open("root", "rootpw", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v DOUBLE)")
	mustExec(t, db, "INSERT INTO app.t VALUES (1, 7)")

	gone := ts.open("root", "rootpw", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := gone.ExecContext(ctx, "UPDATE app.t SET v = SLEEP(30) WHERE id = 1")
		done <- err
	}()
	// Wait until the UPDATE runs, then let its client vanish (the driver
	// closes the connection when the context is cancelled).
	deadline := time.Now().Add(10 * time.Second)
	for queryInt(t, db, "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'UPDATE app.t SET v = SLEEP%'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the UPDATE never showed up in the process list")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	// The lock is free long before the 30 s sleep would end: this insert
	// waits for it at most LockWait (10 s) and fails with 1213 otherwise.
	mustExec(t, db, "INSERT INTO app.t VALUES (2, 0)")
	if v := queryInt(t, db, "SELECT CAST(v AS SIGNED) FROM app.t WHERE id = 1"); v != 7 {
		t.Fatalf("v = %d: the abandoned UPDATE committed", v)
	}
}

// Issue 17 item 6: root@'%' had no password unless -root-password was
// given. Now that needs an explicit opt-out.
func TestRootWithoutPasswordNeedsOptOut(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := NewServer(st, Config{Listener: ln}); !errors.Is(err, ErrRootWithoutPassword) {
		t.Fatalf("new database without a root password: %v, want ErrRootWithoutPassword", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// With the opt-out the database gets a password-less root; starting
	// it again without the opt-out is refused too.
	ts := startServerCfg(t, dir, store.Options{}, Config{AllowEmptyRootPassword: true})
	if err := ts.open("root", "", "").Ping(); err != nil {
		t.Fatalf("root without password, opted out: %v", err)
	}
	ts.stop()
	st2, err := store.Open(dir, store.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if _, err := NewServer(st2, Config{Listener: ln2, RootPassword: "given-too-late"}); !errors.Is(err, ErrRootWithoutPassword) {
		t.Fatalf("existing database whose root has no password: %v, want ErrRootWithoutPassword", err)
	}
}
