package sqlbackend

import (
	"slices"
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

// Revoking the last database-level privilege must keep the table-level
// grants in that database, in memory and after a restart (go-mysql-server
// v0.20.0 dropped them; the crash suite's users workload found it).
func TestRevokeDatabaseKeepsTableGrants(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "rootpw")
	root := ts.open("root", "rootpw", "")
	mustExec(t, root, "CREATE DATABASE app")
	mustExec(t, root, "CREATE TABLE app.t (id INT PRIMARY KEY)")
	mustExec(t, root, "CREATE USER 'u'@'%' IDENTIFIED BY 'upw'")
	mustExec(t, root, "GRANT SELECT ON app.* TO 'u'@'%'")
	mustExec(t, root, "GRANT INSERT, DELETE ON app.t TO 'u'@'%'")
	mustExec(t, root, "REVOKE SELECT ON app.* FROM 'u'@'%'")
	want := []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT INSERT, DELETE ON `app`.`t` TO `u`@`%`"}
	if got := rowsStrings(t, root, "SHOW GRANTS FOR 'u'@'%'"); !slices.Equal(got, want) {
		t.Fatalf("after REVOKE SELECT ON app.*: SHOW GRANTS = %q, want %q", got, want)
	}
	u := ts.open("u", "upw", "")
	mustExec(t, u, "INSERT INTO app.t VALUES (1)")

	// REVOKE ALL on the database keeps them too; other levels still work.
	mustExec(t, root, "GRANT UPDATE, SELECT ON app.* TO 'u'@'%'")
	mustExec(t, root, "REVOKE ALL ON app.* FROM 'u'@'%'")
	mustExec(t, root, "REVOKE DELETE ON app.t FROM 'u'@'%'")
	want = []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT INSERT ON `app`.`t` TO `u`@`%`"}
	if got := rowsStrings(t, root, "SHOW GRANTS FOR 'u'@'%'"); !slices.Equal(got, want) {
		t.Fatalf("after REVOKE ALL ON app.*: SHOW GRANTS = %q, want %q", got, want)
	}
	// Only an account allowed to revoke may.
	if _, err := u.Exec("REVOKE INSERT ON app.* FROM 'root'@'%'"); err == nil {
		t.Error("a user without GRANT OPTION revoked a privilege")
	}
	if _, err := root.Exec("REVOKE SELECT ON app.* FROM 'nobody'@'%'"); err == nil {
		t.Error("REVOKE from an unknown user succeeded")
	}

	ts.stop()
	ts = startServer(t, dir, store.Options{}, "rootpw")
	root = ts.open("root", "rootpw", "")
	if got := rowsStrings(t, root, "SHOW GRANTS FOR 'u'@'%'"); !slices.Equal(got, want) {
		t.Fatalf("after a restart: SHOW GRANTS = %q, want %q", got, want)
	}
}
