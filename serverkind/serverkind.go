package serverkind

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/proto/crashrigpb"
)

// Kind names.
const (
	MariaDB = "mariadb"
	Bundled = "crashrig-sqlserver"
)

// GuestPort is where every kind listens inside the guest.
const GuestPort = 3306

// Instance is one provisioned server as the guest sees it.
type Instance struct {
	Spec *crashrigpb.ProvisionServer
	// DataDir is the mount point of the data disk (GuestDataDir).
	DataDir string
	// StateDir is a directory on the root disk for configuration that must
	// survive a reset (GuestStateDir).
	StateDir string
	// Binary is the installed server build for uploaded kinds.
	Binary string
	// Port is where the server listens ({port}); 0 means GuestPort. Only
	// a test running a spec on the host and the agent's warm-up set it.
	Port int
	// Socket is the server's unix socket ({socket}); "" means the spec's
	// admin socket. Only the agent's warm-up sets it.
	Socket string
}

// Kind is one SQL server implementation.
type Kind interface {
	Name() string
	// Uploaded reports whether the server binary comes from InstallServer
	// (rather than the image).
	Uploaded() bool
	// Init prepares a freshly formatted data disk (and durable config),
	// once per provisioning.
	Init(ctx context.Context, in Instance) error
	// Command is the server running in the foreground; the agent owns it.
	Command(in Instance) *exec.Cmd
	// LogFile is the server's own log file, watched by the agent.
	LogFile(in Instance) string
	// DataPaths are what CollectFiles gathers by default.
	DataPaths(in Instance) []string
	// AdminDSN reaches the server right after Init, before Bootstrap.
	AdminDSN(in Instance) string
	// Bootstrap creates accounts and the database after the first start.
	Bootstrap(ctx context.Context, db *sql.DB, in Instance) error
}

// ConfigWriter is a kind whose configuration files may live on the root
// disk (Init writes them once); a standby VM that attaches a provisioned
// data disk writes them again before the start.
type ConfigWriter interface {
	WriteConfig(in Instance) error
}

// Gated is a kind whose server can be started ahead, before its data disk
// is attached, and released later (a spec's server.start_gate).
type Gated interface {
	// GatedCommand is the start command with the gate's arguments and
	// how to release it; ok is false when this server has no gate.
	GatedCommand(in Instance) (cmd *exec.Cmd, release crashrigpb.GateRelease, ok bool)
}

var (
	_ ConfigWriter = specKind{}
	_ Gated        = specKind{}
)

// Lookup returns the built-in target called name as a Kind.
func Lookup(name string) (Kind, error) {
	s, err := Builtin(name)
	if err != nil {
		return nil, err
	}
	return specKind{def: s.Definition()}, nil
}

// Account is the user a client logs in as for spec: the named user if any,
// else root.
func Account(spec *crashrigpb.ProvisionServer) (user, password string) {
	if spec.GetUser() != "" {
		return spec.GetUser(), spec.GetPassword()
	}
	return "root", spec.GetRootPassword()
}

// DSN is a go-sql-driver/mysql DSN for addr (host:port). Timeouts are short
// because crash tests expect the server to vanish at any moment.
func DSN(user, password, addr, database string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd = user, password
	c.Net, c.Addr = "tcp", addr
	c.DBName = database
	c.Timeout = 2 * time.Second
	c.ReadTimeout = 30 * time.Second
	c.WriteTimeout = 30 * time.Second
	c.AllowNativePasswords = true
	return c.FormatDSN()
}

// ClientDSN is the DSN for spec's account at addr.
func ClientDSN(spec *crashrigpb.ProvisionServer, addr string) string {
	u, p := Account(spec)
	return DSN(u, p, addr, spec.GetDatabase())
}

// quoteIdent quotes a MySQL identifier.
func quoteIdent(s string) string {
	out := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			out = append(out, '`')
		}
		out = append(out, s[i])
	}
	return string(append(out, '`'))
}

// ReadyForConnections is what every kind's server logs once it accepts
// connections (MariaDB: "mariadbd: ready for connections.";
// crashrig-sqlserver: "listening on ADDR; ready for connections").
const ReadyForConnections = "ready for connections"

// RecoveryReporter is implemented by kinds whose server logs how long its
// own crash recovery took.
type RecoveryReporter interface {
	// RecoveryTime finds the latest recovery time in the server's log.
	RecoveryTime(log string) (time.Duration, bool)
}

// RecoveryTime returns the recovery time that the latest start of the
// built-in target kind logged, if its spec says how to find one.
func RecoveryTime(kind, log string) (time.Duration, bool) {
	s, err := Builtin(kind)
	if err != nil {
		return 0, false
	}
	return recoveryTime(s.Definition().GetRecovery(), log)
}

// execAll runs bootstrap statements in order. An error names the
// statement, cut before any password.
func execAll(ctx context.Context, db *sql.DB, kind string, stmts []string) error {
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bootstrap %s: %s: %w", kind, strings.Split(q, " IDENTIFIED")[0], err)
		}
	}
	return nil
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
