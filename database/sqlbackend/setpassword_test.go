package sqlbackend

import (
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

func TestRewriteSetPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SET PASSWORD FOR 'u'@'%' = 'pw'", "ALTER USER 'u'@'%' IDENTIFIED BY 'pw'"},
		{"set password for `u`@`%`=PASSWORD('p\\'w');", "ALTER USER `u`@`%` IDENTIFIED BY 'p\\'w'"},
		{"  SET PASSWORD FOR u = password ( \"x\" ) ", "ALTER USER u IDENTIFIED BY \"x\""},
		{"SET PASSWORD FOR 'a b'@'h' = 'it''s'", "ALTER USER 'a b'@'h' IDENTIFIED BY 'it''s'"},
	} {
		got, ok := rewriteSetPassword(tc.in)
		if !ok || got != tc.want {
			t.Errorf("rewriteSetPassword(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{
		"SET PASSWORD = 'x'", // the current user's: not supported
		"SET PASSWORD FOR 'u'@'%' = 'x'; DROP TABLE t",
		"SET @password = 'x'",
		"SELECT 'SET PASSWORD FOR u = ''x'''",
	} {
		if got, ok := rewriteSetPassword(in); ok {
			t.Errorf("rewriteSetPassword(%q) = %q, want no rewrite", in, got)
		}
	}
}

// SET PASSWORD FOR changes the password durably, in both the MySQL 8 and
// the PASSWORD() form.
func TestSetPasswordFor(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, store.Options{}, "rootpw")
	root := ts.open("root", "rootpw", "")
	mustExec(t, root, "CREATE USER 'u'@'%' IDENTIFIED BY 'one'")
	login := func(pw string) error {
		db := ts.open("u", pw, "")
		return db.Ping()
	}
	mustExec(t, root, "SET PASSWORD FOR 'u'@'%' = 'two'")
	if err := login("two"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := login("one"); mysqlErrNo(err) != 1045 {
		t.Fatalf("login with the old password: %v, want 1045", err)
	}
	mustExec(t, root, "SET PASSWORD FOR 'u'@'%' = PASSWORD('three')")
	if _, err := root.Exec("SET PASSWORD FOR 'nobody'@'%' = 'x'"); err == nil {
		t.Error("SET PASSWORD FOR an unknown account succeeded")
	}
	ts.stop()
	ts = startServer(t, dir, store.Options{}, "rootpw")
	if err := login("three"); err != nil {
		t.Fatalf("after a restart, login with the last password: %v", err)
	}
	if err := login("two"); mysqlErrNo(err) != 1045 {
		t.Fatalf("after a restart, login with an old password: %v, want 1045", err)
	}
}
