package sqlbackend

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crashrig/crashrig/database/fsys"
	"github.com/crashrig/crashrig/database/store"
)

func join(s []string) string { return strings.Join(s, ",") }

func TestDDLAndDMLSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE DATABASE junk")
	mustExec(t, db, "DROP DATABASE junk")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL DEFAULT 'x', v BIGINT, UNIQUE KEY uname (name), KEY kv (v))")
	mustExec(t, db, "INSERT INTO app.t (name, v) VALUES ('a', 1), ('b', 2), ('c', 3)")
	r := mustExec(t, db, "INSERT INTO app.t (name, v) VALUES ('d', 4)")
	if id, _ := r.LastInsertId(); id != 4 {
		t.Fatalf("last insert id %d", id)
	}
	mustExec(t, db, "INSERT INTO app.t (v) VALUES (5)") // default name 'x'
	mustExec(t, db, "UPDATE app.t SET v = v * 10 WHERE name = 'b'")
	mustExec(t, db, "DELETE FROM app.t WHERE id = 1")
	mustExec(t, db, "REPLACE INTO app.t (id, name, v) VALUES (3, 'c2', 33)")
	mustExec(t, db, "INSERT INTO app.t (id, name, v) VALUES (4, 'd', 0) ON DUPLICATE KEY UPDATE v = v + 100")
	mustExec(t, db, "CREATE TABLE app.old (k VARCHAR(10) PRIMARY KEY, n INT)")
	mustExec(t, db, "INSERT INTO app.old VALUES ('z', 26)")
	appdb := ts.open("root", "", "app") // RENAME TABLE needs a current database in go-mysql-server
	mustExec(t, appdb, "RENAME TABLE old TO renamed")
	mustExec(t, db, "CREATE TABLE app.gone (a INT)")
	mustExec(t, db, "DROP TABLE app.gone")
	mustExec(t, db, "ALTER TABLE app.t ADD COLUMN extra VARCHAR(20) DEFAULT 'e' AFTER `name`")
	mustExec(t, db, "ALTER TABLE app.t MODIFY COLUMN v BIGINT UNSIGNED")
	mustExec(t, db, "CREATE INDEX kextra ON app.t (extra, v)")
	mustExec(t, db, "ALTER TABLE app.t DROP INDEX kv")
	mustExec(t, db, "ALTER TABLE app.t AUTO_INCREMENT = 100")
	mustExec(t, db, "INSERT INTO app.t (name, v) VALUES ('after', 7)")

	want := "2|b|e|20,3|c2|e|33,4|d|e|104,5|x|e|5,100|after|e|7"
	check := func(db *sql.DB) {
		t.Helper()
		if got := join(rowsStrings(t, db, "SELECT id, name, extra, v FROM app.t ORDER BY id")); got != want {
			t.Fatalf("rows = %s\nwant   %s", got, want)
		}
		if got := join(rowsStrings(t, db, "SELECT k, n FROM app.renamed")); got != "z|26" {
			t.Fatalf("renamed = %s", got)
		}
		if got := join(rowsStrings(t, db, "SHOW TABLES FROM app")); got != "renamed,t" {
			t.Fatalf("tables = %s", got)
		}
		if got := join(rowsStrings(t, db, "SHOW DATABASES")); strings.Contains(got, "junk") || !strings.Contains(got, "app") {
			t.Fatalf("databases = %s", got)
		}
		ct := join(rowsStrings(t, db, "SHOW CREATE TABLE app.t"))
		for _, s := range []string{"UNIQUE KEY `uname` (`name`)", "KEY `kextra` (`extra`,`v`)", "`v` bigint unsigned", "AUTO_INCREMENT=101"} {
			if !strings.Contains(ct, s) {
				t.Fatalf("SHOW CREATE TABLE lacks %q:\n%s", s, ct)
			}
		}
		if strings.Contains(ct, "`kv`") {
			t.Fatalf("dropped index still shown:\n%s", ct)
		}
	}
	check(db)
	ts.stop()
	ts2 := startServer(t, dir, store.Options{}, "")
	check(ts2.open("root", "", ""))
}

func TestKeysAndIndexes(t *testing.T) {
	ts := startServer(t, t.TempDir(), store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.u (id BIGINT PRIMARY KEY, email VARCHAR(100), score INT, UNIQUE KEY em (email), KEY sc (score))")
	for i := 1; i <= 300; i++ {
		mustExec(t, db, "INSERT INTO app.u VALUES (?, ?, ?)", i, fmt.Sprintf("u%d@x", i), i%10)
	}
	// Unique and primary key violations are MySQL error 1062.
	if _, err := db.Exec("INSERT INTO app.u VALUES (1, 'new@x', 0)"); mysqlErrNo(err) != 1062 {
		t.Fatalf("pk dup: %v", err)
	}
	if _, err := db.Exec("INSERT INTO app.u VALUES (1000, 'u5@x', 0)"); mysqlErrNo(err) != 1062 {
		t.Fatalf("unique dup: %v", err)
	}
	if _, err := db.Exec("UPDATE app.u SET email = 'u6@x' WHERE id = 7"); mysqlErrNo(err) != 1062 {
		t.Fatalf("unique dup on update: %v", err)
	}
	// NULLs do not collide in a unique index.
	mustExec(t, db, "INSERT INTO app.u VALUES (1001, NULL, 1), (1002, NULL, 1)")
	// A multi-row autocommit insert that fails midway leaves nothing.
	if _, err := db.Exec("INSERT INTO app.u VALUES (2000, 'a@x', 1), (2001, 'u9@x', 1)"); mysqlErrNo(err) != 1062 {
		t.Fatalf("want dup: %v", err)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE id = 2000"); n != 0 {
		t.Fatal("failed statement left a row behind")
	}
	// A unique index over duplicate data cannot be created.
	if _, err := db.Exec("CREATE UNIQUE INDEX usc ON app.u (score)"); err == nil {
		t.Fatal("unique index over duplicates created")
	}
	// Point and range lookups use the indexes and return exact results.
	plan := join(rowsStrings(t, db, "EXPLAIN PLAN SELECT * FROM app.u WHERE email = 'u42@x'"))
	if !strings.Contains(plan, "IndexedTableAccess") {
		t.Fatalf("point lookup not indexed:\n%s", plan)
	}
	plan = join(rowsStrings(t, db, "EXPLAIN PLAN SELECT * FROM app.u WHERE id BETWEEN 10 AND 20"))
	if !strings.Contains(plan, "IndexedTableAccess") {
		t.Fatalf("range lookup not indexed:\n%s", plan)
	}
	if got := join(rowsStrings(t, db, "SELECT id FROM app.u WHERE email = 'u42@x'")); got != "42" {
		t.Fatalf("point = %s", got)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE id BETWEEN 10 AND 20"); n != 11 {
		t.Fatalf("range count %d", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE id > 295 OR id < 3 OR id IN (100, 101)"); n != 5+2+2+2 {
		t.Fatalf("multi-range count %d", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE score = 3"); n != 30 {
		t.Fatalf("secondary lookup count %d", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE score >= 8 AND score < 9.5"); n != 60 {
		t.Fatalf("secondary range count %d", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.u WHERE email IS NULL"); n != 2 {
		t.Fatalf("IS NULL count %d", n)
	}
	// Keyless tables keep duplicate rows.
	mustExec(t, db, "CREATE TABLE app.bag (a INT, b VARCHAR(5))")
	mustExec(t, db, "INSERT INTO app.bag VALUES (1,'x'),(1,'x'),(2,'y')")
	mustExec(t, db, "DELETE FROM app.bag WHERE a = 2")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.bag"); n != 2 {
		t.Fatalf("bag count %d", n)
	}
}

func TestColumnTypesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, `CREATE TABLE app.ty (
		i INT, ui INT UNSIGNED, bi BIGINT, ubi BIGINT UNSIGNED, vc VARCHAR(20), tx TEXT, bl BLOB, vb VARBINARY(16),
		d DOUBLE, dec1 DECIMAL(12,3), dt DATETIME(6), ts TIMESTAMP, b BOOLEAN, PRIMARY KEY (bi))`)
	mustExec(t, db, `INSERT INTO app.ty VALUES (-5, 4000000000, -9000000000000000000, 18000000000000000000, 'héllo', 'long text',
		X'00FF10', X'0102', 3.25, -1234.567, '2026-11-23 10:11:12.654321', '2026-01-02 03:04:05', TRUE)`)
	want := "-5|4000000000|-9000000000000000000|18000000000000000000|héllo|long text|\x00\xff\x10|\x01\x02|3.25|-1234.567|2026-11-23 10:11:12.654321 +0000 UTC|2026-01-02 03:04:05 +0000 UTC|1"
	q := "SELECT i, ui, bi, ubi, vc, tx, bl, vb, d, dec1, dt, ts, b FROM app.ty"
	if got := join(rowsStrings(t, db, q)); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	ts.stop()
	ts2 := startServer(t, dir, store.Options{}, "")
	if got := join(rowsStrings(t, ts2.open("root", "", ""), q)); got != want {
		t.Fatalf("after restart got %q", got)
	}
}

func TestTransactions(t *testing.T) {
	ts := startServer(t, t.TempDir(), store.Options{LockWait: 300 * time.Millisecond}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.c (id INT PRIMARY KEY, n INT)")
	mustExec(t, db, "INSERT INTO app.c VALUES (1, 0)")
	ctx := context.Background()
	c1, _ := db.Conn(ctx)
	c2, _ := db.Conn(ctx)
	defer c1.Close()
	defer c2.Close()

	// Rollback discards; commit keeps.
	mustExec(t, connExec{c1}, "BEGIN")
	mustExec(t, connExec{c1}, "UPDATE app.c SET n = 99 WHERE id = 1")
	mustExec(t, connExec{c1}, "ROLLBACK")
	if n := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1"); n != 0 {
		t.Fatalf("after rollback n = %d", n)
	}

	// Lost update: both read, both write; the second writer gets 1213.
	mustExec(t, connExec{c1}, "BEGIN")
	mustExec(t, connExec{c2}, "BEGIN")
	n1 := queryInt(t, connExec{c1}, "SELECT n FROM app.c WHERE id = 1")
	n2 := queryInt(t, connExec{c2}, "SELECT n FROM app.c WHERE id = 1")
	mustExec(t, connExec{c1}, "UPDATE app.c SET n = ? WHERE id = 1", n1+1)
	_, err := c2.ExecContext(ctx, "UPDATE app.c SET n = ? WHERE id = 1", n2+1)
	if mysqlErrNo(err) != 1213 {
		t.Fatalf("concurrent writer: %v, want error 1213", err)
	}
	mustExec(t, connExec{c2}, "ROLLBACK")
	mustExec(t, connExec{c1}, "COMMIT")
	// Retried after the first committed: its snapshot is fresh and it wins.
	mustExec(t, connExec{c2}, "BEGIN")
	n2 = queryInt(t, connExec{c2}, "SELECT n FROM app.c WHERE id = 1")
	mustExec(t, connExec{c2}, "UPDATE app.c SET n = ? WHERE id = 1", n2+1)
	mustExec(t, connExec{c2}, "COMMIT")
	if n := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1"); n != 2 {
		t.Fatalf("counter = %d, want 2 (no lost update)", n)
	}

	// Stale snapshot: c1 reads, c2 commits, c1 writes -> 1213.
	mustExec(t, connExec{c1}, "BEGIN")
	_ = queryInt(t, connExec{c1}, "SELECT n FROM app.c WHERE id = 1")
	mustExec(t, connExec{c2}, "UPDATE app.c SET n = n + 1 WHERE id = 1")
	if _, err := c1.ExecContext(ctx, "UPDATE app.c SET n = n + 1 WHERE id = 1"); mysqlErrNo(err) != 1213 {
		t.Fatalf("stale writer: %v, want 1213", err)
	}
	mustExec(t, connExec{c1}, "ROLLBACK")

	// BEGIN does not fix the snapshot; the first statement does (as in
	// InnoDB). A transaction whose first statement writes takes the write
	// lock first, so a commit between BEGIN and that statement does not
	// make it fail, and nothing is lost.
	before := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1")
	mustExec(t, connExec{c1}, "BEGIN")
	mustExec(t, connExec{c2}, "UPDATE app.c SET n = n + 1 WHERE id = 1")
	mustExec(t, connExec{c1}, "UPDATE app.c SET n = n + 1 WHERE id = 1")
	mustExec(t, connExec{c1}, "COMMIT")
	if n := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1"); n != before+2 {
		t.Fatalf("write-first transaction after a concurrent commit: n = %d, want %d", n, before+2)
	}

	// Snapshot reads: c1's transaction does not see c2's later commit.
	mustExec(t, connExec{c1}, "BEGIN")
	before = queryInt(t, connExec{c1}, "SELECT n FROM app.c WHERE id = 1")
	mustExec(t, connExec{c2}, "UPDATE app.c SET n = n + 1 WHERE id = 1")
	if again := queryInt(t, connExec{c1}, "SELECT n FROM app.c WHERE id = 1"); again != before {
		t.Fatalf("non-repeatable read: %d then %d", before, again)
	}
	mustExec(t, connExec{c1}, "COMMIT")

	// Failed autocommit write statements (analysis error, execution error)
	// do not keep the write lock: another connection can write at once.
	if _, err := c1.ExecContext(ctx, "INSERT INTO app.c (nope) VALUES (1)"); err == nil {
		t.Fatal("bad insert succeeded")
	}
	if _, err := c1.ExecContext(ctx, "INSERT INTO app.c VALUES (1, 5)"); mysqlErrNo(err) != 1062 {
		t.Fatalf("dup insert: %v", err)
	}
	mustExec(t, connExec{c2}, "INSERT INTO app.c VALUES (2, 0)")

}

func TestUsersAndGrantsPersist(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "rootpw")
	if err := ts.open("root", "wrong", "").Ping(); err == nil {
		t.Fatal("root login with wrong password succeeded")
	}
	root := ts.open("root", "rootpw", "")
	mustExec(t, root, "CREATE DATABASE app")
	mustExec(t, root, "CREATE TABLE app.t (id INT PRIMARY KEY)")
	mustExec(t, root, "INSERT INTO app.t VALUES (1)")
	mustExec(t, root, "CREATE USER 'reader'@'%' IDENTIFIED BY 'rpw'")
	mustExec(t, root, "GRANT SELECT ON app.* TO 'reader'@'%'")
	mustExec(t, root, "CREATE USER 'temp'@'%' IDENTIFIED BY 'tpw'")
	mustExec(t, root, "DROP USER 'temp'@'%'")
	ts.stop()

	ts2 := startServer(t, dir, store.Options{}, "ignored-after-first-start")
	if err := ts2.open("root", "rootpw", "").Ping(); err != nil {
		t.Fatalf("root login after restart: %v", err)
	}
	reader := ts2.open("reader", "rpw", "")
	if n := queryInt(t, reader, "SELECT COUNT(*) FROM app.t"); n != 1 {
		t.Fatalf("reader count %d", n)
	}
	if _, err := reader.Exec("INSERT INTO app.t VALUES (2)"); err == nil {
		t.Fatal("reader could insert")
	}
	if err := ts2.open("reader", "bad", "").Ping(); err == nil {
		t.Fatal("reader logged in with a wrong password")
	}
	if err := ts2.open("temp", "tpw", "").Ping(); err == nil {
		t.Fatal("dropped user logged in")
	}
}

func TestFsyncPerCommit(t *testing.T) {
	fs := fsys.NewCounting(fsys.OS{})
	ts := startServer(t, t.TempDir(), store.Options{FS: fs}, "")
	db := ts.open("root", "", "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))")
	_ = queryInt(t, db, "SELECT COUNT(*) FROM app.t")
	syncs, manifests := fs.Syncs("journal-"), fs.Writes("MANIFEST")
	for i := 0; i < 1000; i++ {
		mustExec(t, db, "INSERT INTO app.t VALUES (?, 'x')", i)
	}
	// Reads, BEGIN/COMMIT without changes and failed statements cost nothing.
	_ = queryInt(t, db, "SELECT COUNT(*) FROM app.t")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "COMMIT")
	_, _ = db.Exec("INSERT INTO app.t VALUES (1, 'dup')")
	if got := fs.Syncs("journal-") - syncs; got != 1000 {
		t.Fatalf("1000 autocommit inserts did %d journal fsyncs", got)
	}
	if got := fs.Writes("MANIFEST") - manifests; got != 0 {
		t.Fatalf("%d manifest writes during inserts", got)
	}
}

func TestGCProcedure(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)")
	for i := 0; i < 200; i++ {
		mustExec(t, db, "INSERT INTO app.t VALUES (?, ?)", i, i)
	}
	mustExec(t, db, "DELETE FROM app.t WHERE id >= 100")
	got := rowsStrings(t, db, "CALL crashrig_gc()")
	if len(got) != 1 || !strings.HasPrefix(got[0], "2|") {
		t.Fatalf("gc result %v", got)
	}
	mustExec(t, db, "INSERT INTO app.t VALUES (1000, 1)")
	ts.stop()
	ts2 := startServer(t, dir, store.Options{}, "")
	if n := queryInt(t, ts2.open("root", "", ""), "SELECT COUNT(*) FROM app.t"); n != 101 {
		t.Fatalf("rows after gc+restart: %d", n)
	}
}

// Concurrent autocommit increments never lose updates or fail: they queue
// on the write lock (with its default wait, so a loaded machine's slow
// fsyncs do not turn the queue into 1213s).
func TestConcurrentAutocommitIncrements(t *testing.T) {
	ts := startServer(t, t.TempDir(), store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.c (id INT PRIMARY KEY, n INT)")
	mustExec(t, db, "INSERT INTO app.c VALUES (1, 0)")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := db.Exec("UPDATE app.c SET n = n + 1 WHERE id = 1"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("autocommit increment failed: %v", err)
	}
	if n := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1"); n != 100 {
		t.Fatalf("counter = %d, want 100", n)
	}
}
