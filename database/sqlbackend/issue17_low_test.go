package sqlbackend

import (
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

// Bytes that are not UTF-8 are refused when written to a utf8mb4 column
// (error 1366, as MySQL does), so nothing is stored that a later SELECT
// could not read; binary columns take any bytes.
func TestInvalidUTF8RefusedOnWrite(t *testing.T) {
	ts := startServer(t, t.TempDir(), store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20), b VARBINARY(20))")
	mustExec(t, db, "INSERT INTO app.t VALUES (1, 'ok', X'FF')")
	for _, tc := range []struct {
		query string
		args  []any
	}{
		{"INSERT INTO app.t VALUES (2, X'FF61', 'x')", nil},
		{"INSERT INTO app.t VALUES (3, ?, 'x')", []any{string([]byte{'a', 0xff, 'b'})}},
		{"INSERT INTO app.t VALUES (4, _binary X'C3', 'x')", nil},
		{"REPLACE INTO app.t VALUES (1, X'FE', 'x')", nil},
		{"UPDATE app.t SET v = X'FF' WHERE id = 1", nil},
	} {
		_, err := db.Exec(tc.query, tc.args...)
		if mysqlErrNo(err) != 1366 || !strings.Contains(err.Error(), "Incorrect string value") || !strings.Contains(err.Error(), "column 'v'") {
			t.Errorf("%s: %v, want error 1366 Incorrect string value for column 'v'", tc.query, err)
		}
	}
	if got := rowsStrings(t, db, "SELECT id, CONCAT(v, '!'), HEX(b) FROM app.t ORDER BY id"); strings.Join(got, ",") != "1|ok!|FF" {
		t.Fatalf("rows %v, want only the valid row, unchanged", got)
	}
	if got := invalidUTF8Excerpt([]byte("ab\xff\x61\x00\xfe\xfd\xfc\xfb")); got != `\xFFa\x00\xFE\xFD\xFC...` {
		t.Errorf("excerpt %q", got)
	}
}

// DELETE of a whole table named with its database works without USE
// (the engine's DELETE-to-TRUNCATE rewrite looked up the current
// database and failed with "database not found: ").
func TestQualifiedDeleteAllWithoutUse(t *testing.T) {
	ts := startServer(t, t.TempDir(), store.Options{}, "")
	db := ts.open("root", "", "")
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE DATABASE other")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY)")
	mustExec(t, db, "CREATE TABLE other.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO app.t VALUES (1), (2), (3)")
	mustExec(t, db, "INSERT INTO other.t VALUES (1)")
	res := mustExec(t, db, "DELETE FROM app.t")
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("DELETE FROM app.t affected %d rows, want 3", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.t"); n != 0 {
		t.Fatalf("%d rows left in app.t", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM other.t"); n != 1 {
		t.Fatalf("other.t has %d rows, want 1 (untouched)", n)
	}
	// With another database current, and with the table's own.
	mustExec(t, db, "INSERT INTO app.t VALUES (4)")
	other := ts.open("root", "", "other")
	mustExec(t, other, "DELETE FROM app.t")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.t"); n != 0 {
		t.Fatalf("%d rows left in app.t after DELETE with other current", n)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM other.t"); n != 1 {
		t.Fatalf("other.t has %d rows, want 1", n)
	}
	mustExec(t, db, "INSERT INTO app.t VALUES (5)")
	mustExec(t, ts.open("root", "", "app"), "DELETE FROM app.t")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM app.t"); n != 0 {
		t.Fatalf("%d rows left in app.t", n)
	}
}
