package sqlbackend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

// Issue 17 item 4: an account granted only SELECT could read any file the
// server can (LOAD_FILE('/etc/shadow')), write files (INTO OUTFILE), load
// them (LOAD DATA INFILE) and change global settings (SET GLOBAL).
func TestFileAccessAndSetGlobalNeedPrivileges(t *testing.T) {
	dir := t.TempDir()
	secure := filepath.Join(dir, "secure-files")
	ts := startServerCfg(t, dir, store.Options{}, Config{RootPassword: "rootpw", SecureFilePriv: secure})
	root := ts.open("root", "rootpw", "")
	mustExec(t, root, "CREATE DATABASE app")
	mustExec(t, root, "CREATE TABLE app.t (id INT PRIMARY KEY, v TEXT)")
	mustExec(t, root, "INSERT INTO app.t VALUES (1, 'one')")
	mustExec(t, root, "CREATE USER 'reader'@'%' IDENTIFIED BY 'rpw'")
	mustExec(t, root, "GRANT SELECT ON app.* TO 'reader'@'%'")
	inside := filepath.Join(secure, "in.txt")
	if err := os.WriteFile(inside, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("2,two\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	reader := ts.open("reader", "rpw", "")
	denied := map[string]string{
		"LOAD_FILE":         "SELECT LOAD_FILE('" + inside + "')",
		"LOAD_FILE in expr": "SELECT id FROM app.t WHERE v = (SELECT LOAD_FILE('" + inside + "'))",
		"INTO OUTFILE":      "SELECT * FROM app.t INTO OUTFILE '" + filepath.Join(secure, "out.txt") + "'",
		"LOAD DATA":         "LOAD DATA INFILE '" + inside + "' INTO TABLE app.t",
		"SET GLOBAL":        "SET GLOBAL autocommit = 0",
		"SET @@global":      "SET @@global.read_only = 1",
		"SET GLOBAL packet": "SET GLOBAL max_allowed_packet = 1024",
	}
	for name, q := range denied {
		_, err := reader.Exec(q)
		// The engine's own FILE check for LOAD DATA answers first, with
		// its generic error code.
		if mysqlErrNo(err) != 1227 && (name != "LOAD DATA" || err == nil || !strings.Contains(err.Error(), "command denied")) {
			t.Errorf("%s as a SELECT-only user: %v, want error 1227 (access denied)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(secure, "out.txt")); err == nil {
		t.Error("a denied INTO OUTFILE wrote its file")
	}
	if n := queryInt(t, root, "SELECT @@global.autocommit"); n != 1 {
		t.Errorf("global autocommit = %d after a denied SET GLOBAL", n)
	}
	// Session settings stay allowed.
	mustExec(t, reader, "SET SESSION sql_mode = 'ANSI'")

	// root has FILE, but only inside secure_file_priv.
	var got []byte
	if err := root.QueryRow("SELECT LOAD_FILE(?)", inside).Scan(&got); err != nil || string(got) != "secret\n" {
		t.Errorf("root LOAD_FILE inside secure_file_priv: %q, %v", got, err)
	}
	if err := root.QueryRow("SELECT LOAD_FILE(?)", outside).Scan(&got); err != nil || got != nil {
		t.Errorf("root LOAD_FILE outside secure_file_priv: %q, %v (want NULL)", got, err)
	}
	if _, err := root.Exec("SELECT * FROM app.t INTO OUTFILE '" + filepath.Join(filepath.Dir(outside), "o.txt") + "'"); mysqlErrNo(err) != 1290 {
		t.Errorf("root INTO OUTFILE outside secure_file_priv: %v, want 1290", err)
	}
	if _, err := root.Exec("SELECT * FROM app.t INTO OUTFILE '" + secure + "2/o.txt'"); mysqlErrNo(err) != 1290 {
		t.Errorf("root INTO OUTFILE in a sibling with the same prefix: %v, want 1290", err)
	}
	if _, err := root.Exec("LOAD DATA INFILE '" + outside + "' INTO TABLE app.t FIELDS TERMINATED BY ','"); mysqlErrNo(err) != 1290 {
		t.Errorf("root LOAD DATA outside secure_file_priv: %v, want 1290", err)
	}
	mustExec(t, root, "SELECT * FROM app.t INTO OUTFILE '"+filepath.Join(secure, "dump.txt")+"'")
	if _, err := os.Stat(filepath.Join(secure, "dump.txt")); err != nil {
		t.Errorf("root INTO OUTFILE inside secure_file_priv: %v", err)
	}

	// GRANT FILE opens file access (inside secure_file_priv) to reader.
	mustExec(t, root, "GRANT FILE ON *.* TO 'reader'@'%'")
	reader2 := ts.open("reader", "rpw", "")
	if err := reader2.QueryRow("SELECT LOAD_FILE(?)", inside).Scan(&got); err != nil || string(got) != "secret\n" {
		t.Errorf("reader with FILE, LOAD_FILE: %q, %v", got, err)
	}
	// SET GLOBAL: root, or an account granted SUPER (go-mysql-server
	// v0.20.0 cannot GRANT the dynamic SYSTEM_VARIABLES_ADMIN; the check
	// accepts it should an account have it).
	mustExec(t, root, "SET GLOBAL read_only = 0")
	mustExec(t, root, "GRANT SUPER ON *.* TO 'reader'@'%'")
	reader3 := ts.open("reader", "rpw", "")
	mustExec(t, reader3, "SET GLOBAL max_allowed_packet = 67108864")
}

func TestFileAccessOffWithoutSecureFilePriv(t *testing.T) {
	dir := t.TempDir()
	ts := startServerCfg(t, dir, store.Options{}, Config{RootPassword: "rootpw"})
	root := ts.open("root", "rootpw", "")
	for _, q := range []string{"SELECT LOAD_FILE('/etc/passwd')", "SELECT 1 INTO OUTFILE '/tmp/crashrig-never'"} {
		if _, err := root.Exec(q); mysqlErrNo(err) != 1290 {
			t.Errorf("%s with file access off: %v, want 1290", q, err)
		}
	}
}
