package sqlbackend

import (
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

// Issue 17 item 1 through SQL: three 25 MiB LONGTEXT rows used to share
// one 75 MiB leaf chunk, acknowledged and then dropped by recovery (with
// every later commit) at the next start.
func TestLargeRowsSurviveServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~150 MiB")
	}
	dir := t.TempDir()
	ts := startServerCfg(t, dir, store.Options{}, Config{RootPassword: "rootpw"})
	db := ts.open("root", "rootpw", "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE app")
	mustExec(t, db, "CREATE TABLE app.t (id INT PRIMARY KEY, v LONGTEXT)")
	const size = 25 << 20
	for i := 1; i <= 3; i++ {
		mustExec(t, db, "INSERT INTO app.t VALUES (?, ?)", i, strings.Repeat(string(rune('a'+i)), size))
	}
	mustExec(t, db, "INSERT INTO app.t VALUES (4, 'small')")
	_ = db.Close()
	ts.stop()

	ts2 := startServerCfg(t, dir, store.Options{}, Config{RootPassword: "rootpw"})
	if ri := ts2.st.Recovery(); ri.TornBytes != 0 {
		t.Fatalf("recovery discarded %d bytes: %s", ri.TornBytes, ri.StopReason)
	}
	db2 := ts2.open("root", "rootpw", "")
	got := rowsStrings(t, db2, "SELECT id, LENGTH(v) FROM app.t ORDER BY id")
	want := []string{"1|26214400", "2|26214400", "3|26214400", "4|5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
}
