package serverkind

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// bundled is crashrig's own server (cmd/crashrig-sqlserver), uploaded with
// InstallServer. It creates root@'%' with the password when the database is
// first created and has no other accounts.
type bundled struct{}

var (
	_ Kind             = bundled{}
	_ RecoveryReporter = bundled{}
)

// recoveredLine matches the startup line of cmd/crashrig-sqlserver that
// says how long recovery took.
var recoveredLine = regexp.MustCompile(`recovered root .* discarded-tail-bytes \d+ in (\S+) \(created`)

// RecoveryTime implements RecoveryReporter: the last startup line wins, as
// a log may hold several starts.
func (bundled) RecoveryTime(log string) (time.Duration, bool) {
	ms := recoveredLine.FindAllStringSubmatch(log, -1)
	if len(ms) == 0 {
		return 0, false
	}
	d, err := time.ParseDuration(ms[len(ms)-1][1])
	return d, err == nil
}

func (bundled) Name() string   { return Bundled }
func (bundled) Uploaded() bool { return true }

func (bundled) datadir(in Instance) string { return filepath.Join(in.DataDir, "crashrig") }
func (bundled) LogFile(in Instance) string {
	return filepath.Join(in.DataDir, "crashrig-sqlserver.log")
}

func (k bundled) DataPaths(in Instance) []string {
	return []string{k.datadir(in), k.LogFile(in)}
}

func (k bundled) Init(ctx context.Context, in Instance) error {
	if in.Binary == "" {
		return errors.New("crashrig-sqlserver: no installed build (send InstallServer first)")
	}
	if _, err := os.Stat(in.Binary); err != nil {
		return fmt.Errorf("crashrig-sqlserver build: %w", err)
	}
	return os.MkdirAll(k.datadir(in), 0o755)
}

func (k bundled) Command(in Instance) *exec.Cmd {
	args := []string{"-data-dir", k.datadir(in),
		"-listen", net.JoinHostPort("0.0.0.0", strconv.Itoa(GuestPort)),
		"-log-file", k.LogFile(in),
		"-root-password", in.Spec.GetRootPassword()}
	args = append(args, in.Spec.GetConfig()...)
	return exec.Command(in.Binary, args...)
}

func (bundled) AdminDSN(in Instance) string {
	return DSN("root", in.Spec.GetRootPassword(), net.JoinHostPort("127.0.0.1", strconv.Itoa(GuestPort)), "")
}

// Bootstrap creates the extra account (grants persist in the server's
// journal like any other commit) and the database.
func (bundled) Bootstrap(ctx context.Context, db *sql.DB, in Instance) error {
	return execAll(ctx, db, Bundled, appStmts(in.Spec))
}
