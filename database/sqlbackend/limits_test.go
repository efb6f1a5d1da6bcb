package sqlbackend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
