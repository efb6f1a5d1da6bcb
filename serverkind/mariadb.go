package serverkind

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariaDB is MariaDB from the image (Debian's mariadb-server). Its defaults
// are the durable ones (innodb_flush_log_at_trx_commit=1, binlog off); the
// config spells them out so a changed package default cannot weaken a test.
type mariaDB struct{}

var (
	_ Kind             = mariaDB{}
	_ RecoveryReporter = mariaDB{}
)

const mariaDBSocket = "/run/mysqld/mysqld.sock"

func (mariaDB) Name() string   { return MariaDB }
func (mariaDB) Uploaded() bool { return false }

func (mariaDB) datadir(in Instance) string { return filepath.Join(in.DataDir, "mysql") }
func (mariaDB) config(in Instance) string  { return filepath.Join(in.StateDir, "mariadb.cnf") }

func (mariaDB) LogFile(in Instance) string { return filepath.Join(in.DataDir, "mariadb.err") }

func (k mariaDB) DataPaths(in Instance) []string {
	return []string{k.datadir(in), k.LogFile(in), k.config(in)}
}

// Config renders my.cnf for in.
func (k mariaDB) Config(in Instance) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[mysqld]
user = mysql
datadir = %s
socket = %s
pid-file = /run/mysqld/mysqld.pid
log-error = %s
port = %d
bind-address = 0.0.0.0
skip-name-resolve
skip-log-bin
innodb_flush_log_at_trx_commit = 1
innodb_doublewrite = 1
innodb_flush_method = O_DIRECT
# Small buffers: the VM has 1 GiB, and a small redo log recovers faster.
innodb_buffer_pool_size = 128M
innodb_log_file_size = 32M
# Restart speed after every reset: no 12 MiB temp tablespace written in
# full, no buffer pool dump/load.
innodb_temp_data_file_path = ibtmp1:1M:autoextend
innodb_buffer_pool_dump_at_shutdown = OFF
innodb_buffer_pool_load_at_startup = OFF
`, k.datadir(in), mariaDBSocket, k.LogFile(in), GuestPort)
	if iso := in.Spec.GetTransactionIsolation(); iso != "" {
		fmt.Fprintf(&b, "transaction-isolation = %s\n", iso)
	}
	for _, l := range in.Spec.GetConfig() {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// MariaDB error log lines start with a local timestamp in whole seconds,
// the hour space-padded: "2026-11-30  7:52:11 0 [Note] ...".
var (
	mariaDBLine = regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\d +\d{1,2}:\d\d:\d\d) \d+ \[\w+\] (.*)$`)
	// mariaDBStart begins every start's lines ("Starting MariaDB 10.11.6-...
	// as process 1234").
	mariaDBStart = regexp.MustCompile(`^Starting MariaDB |starting as process \d+`)
)

// mariaDBCrashRecovery is what InnoDB logs when it starts replaying its
// redo log after an unclean stop.
const mariaDBCrashRecovery = "InnoDB: Starting crash recovery"

// RecoveryTime implements RecoveryReporter: from InnoDB's "Starting crash
// recovery" to "ready for connections" in the latest start, in whole
// seconds (MariaDB's log resolution). A start without crash recovery (a
// clean one) reports nothing.
func (mariaDB) RecoveryTime(log string) (time.Duration, bool) {
	var recovery, ready time.Time
	for _, m := range mariaDBLine.FindAllStringSubmatch(log, -1) {
		msg := m[2]
		switch {
		case mariaDBStart.MatchString(msg):
			recovery, ready = time.Time{}, time.Time{}
		case strings.HasPrefix(msg, mariaDBCrashRecovery):
			recovery = parseMariaDBTime(m[1])
		case strings.Contains(msg, ReadyForConnections):
			ready = parseMariaDBTime(m[1])
		}
	}
	if recovery.IsZero() || ready.IsZero() || ready.Before(recovery) {
		return 0, false
	}
	return ready.Sub(recovery), true
}

// parseMariaDBTime parses a log timestamp; zero if it does not parse.
func parseMariaDBTime(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", strings.Join(strings.Fields(s), " "))
	if err != nil {
		return time.Time{}
	}
	return t
}

// WriteConfig writes my.cnf on the root disk (a standby VM that attaches
// the data disk has none yet).
func (k mariaDB) WriteConfig(in Instance) error {
	if err := os.MkdirAll(in.StateDir, 0o755); err != nil {
		return err
	}
	if err := WriteFileDurable(k.config(in), []byte(k.Config(in)), 0o644); err != nil {
		return fmt.Errorf("mariadb config: %w", err)
	}
	return nil
}

func (k mariaDB) Init(ctx context.Context, in Instance) error {
	if err := k.WriteConfig(in); err != nil {
		return err
	}
	dir := k.datadir(in)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "chown", "-R", "mysql:mysql", in.DataDir).CombinedOutput(); err != nil {
		return fmt.Errorf("chown %s: %w: %s", in.DataDir, err, out)
	}
	// normal root authentication: root@localhost over the socket without a
	// password, which the agent uses once to create the real accounts
	// (go-sql-driver/mysql has no unix_socket auth plugin).
	cmd := exec.CommandContext(ctx, "mariadb-install-db", "--defaults-file="+k.config(in),
		"--user=mysql", "--datadir="+dir, "--skip-test-db", "--auth-root-authentication-method=normal")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %w: %s", err, tail(out, 2000))
	}
	return nil
}

func (k mariaDB) Command(in Instance) *exec.Cmd {
	return exec.Command("mariadbd", "--defaults-file="+k.config(in))
}

func (mariaDB) AdminDSN(in Instance) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", mariaDBSocket
	return c.FormatDSN()
}

func (mariaDB) Bootstrap(ctx context.Context, db *sql.DB, in Instance) error {
	pw := in.Spec.GetRootPassword()
	// mariadb-install-db also creates root@<hostname>, root@127.0.0.1 and
	// root@::1 without a password, and skip-name-resolve leaves hostname
	// accounts unusable (ALTER USER fails on them). Keep only the
	// socket-only root@localhost (the agent's way in) and add root@'%'.
	stmts := []string{
		"DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')",
		"DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost'",
		"FLUSH PRIVILEGES",
	}
	stmts = append(stmts,
		fmt.Sprintf("CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY %s", quoteString(pw)),
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION")
	return execAll(ctx, db, MariaDB, append(stmts, appStmts(in.Spec)...))
}

// quoteString quotes a MySQL string literal.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
