package serverkind

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// specKind runs a server from its definition (a spec file's guest side):
// the one Kind every target uses.
type specKind struct{ def *pb.ServerDefinition }

var (
	_ Kind             = specKind{}
	_ RecoveryReporter = specKind{}
)

// KindOf is the Kind for a provisioning: its server definition, else the
// built-in spec named by its kind.
func KindOf(spec *pb.ProvisionServer) (Kind, error) {
	if d := spec.GetServer(); d != nil {
		if d.GetName() == "" || len(d.GetStart().GetArgs()) == 0 {
			return nil, errors.New("server definition: name and start command are required")
		}
		return specKind{def: d}, nil
	}
	return Lookup(spec.GetKind())
}

func (k specKind) Name() string   { return k.def.GetName() }
func (k specKind) Uploaded() bool { return k.def.GetUploaded() }

// ReadyTimeout bounds a start (default 5 minutes: MariaDB's first start
// under TCG takes tens of seconds).
func (k specKind) ReadyTimeout() time.Duration {
	if s := k.def.GetReadyTimeoutSeconds(); s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 5 * time.Minute
}

// vars are the placeholder values for in.
func vars(in Instance, def *pb.ServerDefinition) map[string]string {
	v := map[string]string{
		"data_dir": in.DataDir, "state_dir": in.StateDir, "port": strconv.Itoa(cmp.Or(in.Port, GuestPort)),
		"binary": in.Binary, "root_password": in.Spec.GetRootPassword(),
		"root_password_sql": quoteString(in.Spec.GetRootPassword()),
		"isolation":         in.Spec.GetTransactionIsolation(),
	}
	u, p := Account(in.Spec)
	v["user"], v["user_sql"], v["password"], v["password_sql"] = u, quoteString(u), p, quoteString(p)
	v["socket"] = cmp.Or(in.Socket, expand(def.GetAdminSocket(), v))
	return v
}

// expand fills placeholders; unknown ones stay (a spec is validated when
// it is loaded).
func expand(s string, v map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		if r, ok := v[m[1:len(m)-1]]; ok {
			return r
		}
		return m
	})
}

// configLines are the provisioning's config lines, with the isolation line
// first when a level is asked for.
func (k specKind) configLines(in Instance, v map[string]string) []string {
	var lines []string
	if in.Spec.GetTransactionIsolation() != "" && k.def.GetIsolationConfig() != "" {
		lines = append(lines, expand(k.def.GetIsolationConfig(), v))
	}
	return append(lines, in.Spec.GetConfig()...)
}

// argv expands a command; an argument that is exactly {config} becomes the
// config lines, one argument each.
func (k specKind) argv(in Instance, args []string) []string {
	v := k.vars(in)
	var out []string
	for _, a := range args {
		if a == "{config}" {
			out = append(out, k.configLines(in, v)...)
			continue
		}
		out = append(out, expand(a, v))
	}
	return out
}

func (k specKind) vars(in Instance) map[string]string {
	v := vars(in, k.def)
	v["config"] = strings.Join(k.configLines(in, v), "\n")
	return v
}

// Files renders the configuration files: guest path to content.
func (k specKind) Files(in Instance) map[string]string {
	v := k.vars(in)
	files := map[string]string{}
	for _, f := range k.def.GetFiles() {
		files[expand(f.GetPath(), v)] = expand(f.GetContent(), v)
	}
	return files
}

func (k specKind) LogFile(in Instance) string { return expand(k.def.GetLogFile(), k.vars(in)) }

func (k specKind) DataPaths(in Instance) []string {
	v := k.vars(in)
	var paths []string
	for _, p := range k.def.GetDataPaths() {
		paths = append(paths, expand(p, v))
	}
	for _, f := range k.def.GetFiles() {
		paths = append(paths, expand(f.GetPath(), v))
	}
	return paths
}

// Init writes the configuration files and runs the init commands.
func (k specKind) Init(ctx context.Context, in Instance) error {
	if k.Uploaded() {
		if in.Binary == "" {
			return fmt.Errorf("%s: no installed build (send InstallServer first)", k.Name())
		}
		if _, err := os.Stat(in.Binary); err != nil {
			return fmt.Errorf("%s build: %w", k.Name(), err)
		}
	}
	if err := k.WriteConfig(in); err != nil {
		return err
	}
	for _, c := range k.def.GetInit() {
		args := k.argv(in, c.GetArgs())
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), k.env(in)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s init %s: %w: %s", k.Name(), strings.Join(args, " "), err, tail(out, 2000))
		}
	}
	return nil
}

// WriteConfig writes the spec's configuration files, durably.
func (k specKind) WriteConfig(in Instance) error {
	v := k.vars(in)
	for _, f := range k.def.GetFiles() {
		path := expand(f.GetPath(), v)
		mode := os.FileMode(f.GetMode())
		if mode == 0 {
			mode = 0o644
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("%s config: %w", k.Name(), err)
		}
		if err := WriteFileDurable(path, []byte(expand(f.GetContent(), v)), mode); err != nil {
			return fmt.Errorf("%s config: %w", k.Name(), err)
		}
	}
	return nil
}

func (k specKind) env(in Instance) []string {
	v := k.vars(in)
	var env []string
	for _, e := range k.def.GetEnv() {
		env = append(env, expand(e, v))
	}
	return env
}

// Command is the start command; the spec's environment comes first, the
// provisioning's own entries after (and win).
func (k specKind) Command(in Instance) *exec.Cmd {
	args := k.argv(in, k.def.GetStart().GetArgs())
	cmd := exec.Command(args[0], args[1:]...)
	if env := k.env(in); len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	return cmd
}

// GatedCommand is Command with the start gate's arguments right after the
// program, and how to release it; ok is false when the spec has no gate.
func (k specKind) GatedCommand(in Instance) (cmd *exec.Cmd, release pb.GateRelease, ok bool) {
	g := k.def.GetStartGate()
	if g == nil || len(g.GetArgs()) == 0 {
		return nil, pb.GateRelease_GATE_RELEASE_UNSPECIFIED, false
	}
	cmd = k.Command(in)
	cmd.Args = slices.Concat(cmd.Args[:1], k.argv(in, g.GetArgs()), cmd.Args[1:])
	return cmd, g.GetRelease(), true
}

func (k specKind) AdminDSN(in Instance) string {
	v := k.vars(in)
	if sock := v["socket"]; sock != "" {
		c := mysql.NewConfig()
		c.User, c.Passwd, c.Net, c.Addr = expand(k.def.GetAdminUser(), v), expand(k.def.GetAdminPassword(), v), "unix", sock
		c.AllowNativePasswords = true
		return c.FormatDSN()
	}
	return DSN(expand(k.def.GetAdminUser(), v), expand(k.def.GetAdminPassword(), v), "127.0.0.1:"+v["port"], "")
}

// Bootstrap runs the spec's bootstrap statements, creates the account
// (unless the workloads log in as the admin) and the database.
func (k specKind) Bootstrap(ctx context.Context, db *sql.DB, in Instance) error {
	return execAll(ctx, db, k.Name(), k.bootstrapStmts(in))
}

func (k specKind) bootstrapStmts(in Instance) []string {
	v := k.vars(in)
	var stmts []string
	for _, q := range k.def.GetBootstrap() {
		stmts = append(stmts, expand(q, v))
	}
	if u := in.Spec.GetUser(); u != "" && u != "root" {
		for _, q := range k.def.GetCreateAccount() {
			stmts = append(stmts, expand(q, v))
		}
	}
	if d := in.Spec.GetDatabase(); d != "" {
		stmts = append(stmts, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(d))
	}
	return stmts
}

// RecoveryTime implements RecoveryReporter from the spec's recovery
// patterns.
func (k specKind) RecoveryTime(log string) (time.Duration, bool) {
	return recoveryTime(k.def.GetRecovery(), log)
}

func recoveryTime(r *pb.RecoveryPatterns, log string) (time.Duration, bool) {
	if p := r.GetDuration(); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			return 0, false
		}
		ms := re.FindAllStringSubmatch(log, -1)
		if len(ms) == 0 {
			return 0, false
		}
		d, err := time.ParseDuration(ms[len(ms)-1][1])
		return d, err == nil
	}
	if r.GetBegin() == "" {
		return 0, false
	}
	ts, err1 := regexp.Compile(r.GetTimestamp())
	begin, err2 := regexp.Compile(r.GetBegin())
	ready, err3 := regexp.Compile(r.GetReady())
	restart, err4 := regexp.Compile(r.GetRestart())
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return 0, false
	}
	var recovery, readyAt time.Time
	for line := range strings.Lines(log) {
		m := ts.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse(r.GetTimestampLayout(), strings.Join(strings.Fields(m[1]), " "))
		if err != nil {
			continue
		}
		switch {
		case r.GetRestart() != "" && restart.MatchString(line):
			recovery, readyAt = time.Time{}, time.Time{}
		case begin.MatchString(line):
			recovery = at
		case ready.MatchString(line):
			readyAt = at
		}
	}
	if recovery.IsZero() || readyAt.IsZero() || readyAt.Before(recovery) {
		return 0, false
	}
	return readyAt.Sub(recovery), true
}
