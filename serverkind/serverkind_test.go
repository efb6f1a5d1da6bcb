package serverkind

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

func TestLookup(t *testing.T) {
	for _, name := range []string{MariaDB, Bundled} {
		k, err := Lookup(name)
		require.NoError(t, err)
		assert.Equal(t, name, k.Name())
	}
	_, err := Lookup("nosuchdb")
	assert.ErrorContains(t, err, "unknown target")
	assert.Subset(t, Names(), []string{Bundled, MariaDB})
}

func TestMariaDBConfigIsDurable(t *testing.T) {
	in := Instance{DataDir: "/data", StateDir: "/var/lib/dcrts",
		Spec: &pb.ProvisionServer{TransactionIsolation: "SERIALIZABLE", Config: []string{"max_connections = 50"}}}
	k, err := Lookup(MariaDB)
	require.NoError(t, err)
	cnf := k.(specKind).Files(in)["/var/lib/dcrts/mariadb.cnf"]
	for _, want := range []string{
		"innodb_flush_log_at_trx_commit = 1", "skip-log-bin", "bind-address = 0.0.0.0",
		"datadir = /data/mysql", "transaction-isolation = SERIALIZABLE", "max_connections = 50\n",
	} {
		assert.Contains(t, cnf, want)
	}
	assert.True(t, strings.HasPrefix(cnf, "[mysqld]\n"))
	cmd := k.Command(in)
	assert.Equal(t, []string{"mariadbd", "--defaults-file=/var/lib/dcrts/mariadb.cnf"}, cmd.Args)
}

func TestBundledCommand(t *testing.T) {
	in := Instance{DataDir: "/data", Binary: "/opt/x/crashrig-sqlserver", Spec: &pb.ProvisionServer{RootPassword: "pw"}}
	k, err := Lookup(Bundled)
	require.NoError(t, err)
	cmd := k.Command(in)
	assert.Equal(t, []string{"/opt/x/crashrig-sqlserver", "-data-dir", "/data/crashrig", "-listen", "0.0.0.0:3306",
		"-log-file", "/data/crashrig-sqlserver.log", "-root-password", "pw"}, cmd.Args)
}

func TestDSN(t *testing.T) {
	spec := &pb.ProvisionServer{RootPassword: "r@:/pw", User: "app", Password: "secret", Database: "db"}
	u, p := Account(spec)
	assert.Equal(t, "app", u)
	assert.Equal(t, "secret", p)
	dsn := ClientDSN(spec, "127.0.0.1:33060")
	assert.True(t, strings.HasPrefix(dsn, "app:secret@tcp(127.0.0.1:33060)/db?"), dsn)
	assert.Contains(t, dsn, "timeout=2s")
	spec.User = ""
	assert.True(t, strings.HasPrefix(ClientDSN(spec, "h:1"), "root:r@:/pw@tcp(h:1)/db"))
}

func TestQuoting(t *testing.T) {
	assert.Equal(t, "`a``b`", quoteIdent("a`b"))
	assert.Equal(t, `'it\'s \\ ok'`, quoteString(`it's \ ok`))
}

func TestWriteFileDurable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	require.NoError(t, WriteFileDurable(path, []byte("one"), 0o600))
	require.NoError(t, WriteFileDurable(path, []byte("two"), 0o644))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	fi, _ := os.Stat(path)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary files left")
	assert.Error(t, WriteFileDurable(filepath.Join(dir, "missing", "f"), nil, 0o600))
	require.NoError(t, SyncFS(dir))
	assert.Error(t, SyncFS(filepath.Join(dir, "missing")))
}

func TestBundledRecoveryTimeTakesTheLatestStart(t *testing.T) {
	log := "2026/11/23 11:53:58.1 recovered root 1a2b seq 0 generation 1 journal j1 chunks 1 discarded-tail-bytes 0 in 3ms (created=true)\n" +
		"2026/11/23 11:54:09.2 recovered root 3c4d seq 9 generation 1 journal j1 chunks 40 discarded-tail-bytes 17 in 25.5ms (created=false)\n"
	d, ok := RecoveryTime(Bundled, log)
	if !ok || d != 25500*time.Microsecond {
		t.Fatalf("RecoveryTime = %v, %v; want 25.5ms", d, ok)
	}
	if _, ok := RecoveryTime(Bundled, "listening on :3306\n"); ok {
		t.Fatal("RecoveryTime found a time in a log without a recovery line")
	}
	if _, ok := RecoveryTime(MariaDB, log); ok {
		t.Fatal("a bundled server's log gave a MariaDB recovery time")
	}
}

// mariaDBStartLog is what MariaDB 10.11 logs for a start after a reset
// (abridged), the hour space-padded as MariaDB writes it.
const mariaDBStartLog = `2026-11-30  7:59:50 0 [Note] Starting MariaDB 10.11.14-MariaDB-0+deb12u2 source revision 0 as process 301
2026-11-30  7:59:51 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=46846
2026-11-30  7:59:53 0 [Note] InnoDB: Starting final batch to recover 12 pages from redo log.
2026-11-30  7:59:54 0 [Note] /usr/sbin/mariadbd: ready for connections.
Version: '10.11.14-MariaDB-0+deb12u2'  socket: '/run/mysqld/mysqld.sock'  port: 3306  Debian 12
`

func TestMariaDBRecoveryTimeFromItsLog(t *testing.T) {
	d, ok := RecoveryTime(MariaDB, mariaDBStartLog)
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)

	// Only the latest start counts: an earlier start's recovery is not
	// this one's.
	clean := "2026-11-30 10:00:00 0 [Note] Starting MariaDB 10.11.14-MariaDB as process 402\n" +
		"2026-11-30 10:00:02 0 [Note] /usr/sbin/mariadbd: ready for connections.\n"
	_, ok = RecoveryTime(MariaDB, mariaDBStartLog+clean)
	assert.False(t, ok, "a clean start has no crash recovery to report")

	again := "2026-11-30 10:00:00 0 [Note] Starting MariaDB 10.11.14-MariaDB as process 402\n" +
		"2026-11-30 10:00:00 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=50000\n" +
		"2026-11-30 10:00:12 0 [Note] /usr/sbin/mariadbd: ready for connections.\n"
	d, ok = RecoveryTime(MariaDB, mariaDBStartLog+again)
	assert.True(t, ok)
	assert.Equal(t, 12*time.Second, d)

	_, ok = RecoveryTime(MariaDB, "2026-11-30 10:00:00 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=1\n")
	assert.False(t, ok, "not ready yet")
}

func TestBootstrapStmtsBothKinds(t *testing.T) {
	k, err := Lookup(Bundled)
	require.NoError(t, err)
	assert.Empty(t, k.(specKind).bootstrapStmts(Instance{Spec: &pb.ProvisionServer{User: "root"}}), "root is each kind's own business")
	assert.Equal(t, []string{
		"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'p\\'w'",
		"GRANT ALL PRIVILEGES ON *.* TO 'app'@'%' WITH GRANT OPTION",
		"CREATE DATABASE IF NOT EXISTS `d`",
	}, k.(specKind).bootstrapStmts(Instance{Spec: &pb.ProvisionServer{User: "app", Password: "p'w", Database: "d"}}))
	m, err := Lookup(MariaDB)
	require.NoError(t, err)
	stmts := m.(specKind).bootstrapStmts(Instance{Spec: &pb.ProvisionServer{RootPassword: "r'", User: "app", Password: "x"}})
	assert.Contains(t, stmts, "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY 'r\\''")
	assert.Equal(t, "GRANT ALL PRIVILEGES ON *.* TO 'app'@'%' WITH GRANT OPTION", stmts[len(stmts)-1])
}
