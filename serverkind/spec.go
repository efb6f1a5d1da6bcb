package serverkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// Spec is a server spec file: everything crashrig needs to run a
// MySQL-compatible server it has no Go code for. The built-in targets
// (specs/*.toml) are specs too, so there is one code path. Templates may
// hold placeholders such as {data_dir} (guestPlaceholders; README lists
// what each becomes).
type Spec struct {
	// Name names the target in reports and in the guest (the installed
	// binary's directory, for an uploaded server).
	Name string `toml:"name"`
	// Workloads the server supports (default: all but those limits rule
	// out).
	Workloads []string `toml:"workloads"`
	// ErrorLogPatterns are regular expressions: a server output or log line
	// matching one fails the run at the next crash.
	ErrorLogPatterns []string `toml:"error_log_patterns"`
	// GC is the statement the gc workload runs ({tables}: the workload
	// tables, comma-separated); empty means the server has no GC and the
	// gc workload is not supported.
	GC string `toml:"gc"`
	// Isolation sets the isolation level of the next transaction
	// ({level}, e.g. "REPEATABLE READ"); empty: the server's default only.
	Isolation string `toml:"isolation"`
	// Undrop brings back a dropped database ({database}, e.g. Dolt's
	// CALL dolt_undrop('{database}')); with it the ddl workload adds
	// drop-and-undrop lifecycles.
	Undrop string `toml:"undrop"`

	Install  Install     `toml:"install"`
	Server   Server      `toml:"server"`
	Admin    Admin       `toml:"admin"`
	Account  AccountSpec `toml:"account"`
	Limits   Limits      `toml:"limits"`
	Recovery Recovery    `toml:"recovery"`

	// file is where the spec came from ("built-in NAME" for the embedded
	// ones), for error messages.
	file string
}

// Install says how the server gets into the guest.
type Install struct {
	// Upload: the server is a host binary the harness uploads with the
	// agent's InstallServer; the start command names it {binary}.
	Upload bool `toml:"upload"`
	// Binary is that host binary (a path relative to the spec file, ~ for
	// the home directory). Empty: the test supplies it (the bundled server,
	// built from this module).
	Binary string `toml:"binary"`
	// Packages are Debian packages the VM image must have. A spec with
	// packages beyond the default image's gets an image variant of its own.
	Packages []string `toml:"packages"`
}

// Server is how the agent sets up and runs the server (all templates).
type Server struct {
	Env []string `toml:"env"`
	// Files are written (durably) before the init commands run.
	Files []File `toml:"files"`
	// Init runs once on a freshly formatted data disk, in order.
	Init [][]string `toml:"init"`
	// Start runs the server in the foreground; an element that is exactly
	// "{config}" expands to the provisioning's config lines, one argument
	// each.
	Start []string `toml:"start"`
	// IsolationConfig is a config line ({isolation}) added to {config}
	// when the provisioning asks for a server-wide isolation level.
	IsolationConfig string `toml:"isolation_config"`
	// LogFile is the server's own log file, if it writes one besides its
	// output.
	LogFile string `toml:"log_file"`
	// DataPaths are what a post-mortem collects.
	DataPaths []string `toml:"data_paths"`
	// ReadyTimeout bounds a start until the server answers SQL (default 5m).
	ReadyTimeout Duration `toml:"ready_timeout"`
	// StartGate, when set, lets a standby VM start the server ahead.
	StartGate *StartGate `toml:"start_gate"`
}

// StartGate is how the server can be started before its data disk is
// attached (a standby VM, -crash.restart=standby) and released later: Args
// (templates, inserted right after the program in the start command) make
// it parse its flags, do what needs no file, and wait without touching the
// data disk until Release lets it run as a normal start does. What it does
// before the gate (e.g. package initialisation) is then paid before the
// crash.
type StartGate struct {
	Args []string `toml:"args"`
	// Release names how the agent releases it (gateReleases).
	Release string `toml:"release"`
}

// gateReleases are the values of server.start_gate.release.
var gateReleases = map[string]pb.GateRelease{
	// One line on the server's stdin; stdin closing without one must make
	// the server exit non-zero (the agent died).
	"stdin-line": pb.GateRelease_GATE_RELEASE_STDIN_LINE,
}

// File is a configuration file template.
type File struct {
	Path    string `toml:"path"`
	Content string `toml:"content"`
	// Mode is the file's permission bits (default 0644).
	Mode uint32 `toml:"mode"`
}

// Admin is how the agent logs in right after init to create the account.
type Admin struct {
	User     string `toml:"user"`
	Password string `toml:"password"`
	// Socket, when set, is a unix socket; else TCP on loopback at {port}.
	Socket string `toml:"socket"`
	// Bootstrap statements run as the admin after the first start.
	Bootstrap []string `toml:"bootstrap"`
}

// AccountSpec is the account the workloads use.
type AccountSpec struct {
	// Create are the statements that create it ({user_sql},
	// {password_sql}); it needs every privilege, since the ddl workload
	// creates and drops databases.
	Create []string `toml:"create"`
}

// Limits are what the server cannot do.
type Limits struct {
	// NoTransactions: the server has no explicit transactions
	// (BEGIN/COMMIT); workloads that need them are not supported.
	NoTransactions bool `toml:"no_transactions"`
}

// Recovery finds the server's own crash-recovery time in the log of one
// start (optional): Duration is a pattern whose group is a Go duration;
// else Begin and Ready are lines whose Timestamp group (parsed with
// TimestampLayout, runs of spaces folded) gives the time between; Restart
// marks the first line of a start.
type Recovery struct {
	Duration        string `toml:"duration"`
	Timestamp       string `toml:"timestamp"`
	TimestampLayout string `toml:"timestamp_layout"`
	Restart         string `toml:"restart"`
	Begin           string `toml:"begin"`
	Ready           string `toml:"ready"`
}

// Duration is a TOML string such as "90s".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration such as \"90s\": %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes it as UnmarshalText reads it ("1m30s"), so a spec
// saved with a run (server-spec.json) reads back for a replay.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalJSON reads a duration string, or a number of nanoseconds (how
// runs saved their spec before MarshalText).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ns int64
	if err := json.Unmarshal(b, &ns); err == nil {
		*d = Duration(ns)
		return nil
	}
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		return fmt.Errorf("want a duration such as \"90s\": %w", err)
	}
	return d.UnmarshalText([]byte(text))
}

// File is where the spec came from.
func (s *Spec) File() string { return s.file }

// Placeholders, by where they may appear.
var (
	// guestPlaceholders fill the agent's templates.
	guestPlaceholders = []string{"data_dir", "state_dir", "port", "binary", "socket", "root_password",
		"root_password_sql", "user", "user_sql", "password", "password_sql", "isolation", "config"}
	gcPlaceholders        = []string{"tables"}
	isolationPlaceholders = []string{"level"}
	undropPlaceholders    = []string{"database"}
)

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// DecodeSpec decodes and validates a spec; file names it in errors.
// Unknown keys and wrong types are errors that name the file, the key and
// what was expected.
func DecodeSpec(file string, data []byte) (*Spec, error) {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	s := &Spec{file: file}
	if err := dec.Decode(s); err != nil {
		return nil, specDecodeError(file, err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadSpec reads a spec file.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server spec: %w", err)
	}
	s, err := DecodeSpec(path, b)
	if err != nil {
		return nil, err
	}
	if s.Install.Binary != "" {
		s.Install.Binary = resolveHostPath(filepath.Dir(path), s.Install.Binary)
	}
	return s, nil
}

// resolveHostPath expands ~ and makes rel relative to dir.
func resolveHostPath(dir, p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// specDecodeError turns go-toml's errors into one that names the file, the
// key and what was expected.
func specDecodeError(file string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var keys []string
		for _, e := range strict.Errors {
			row, col := e.Position()
			keys = append(keys, fmt.Sprintf("%q (line %d, column %d)", strings.Join(e.Key(), "."), row, col))
		}
		return fmt.Errorf("server spec %s: unknown key %s: not a spec key (see serverkind.Spec)", file, strings.Join(keys, ", "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key == "" {
			return fmt.Errorf("server spec %s: line %d, column %d: %s", file, row, col, de.Error())
		}
		return fmt.Errorf("server spec %s: key %q (line %d, column %d): %s", file, key, row, col, de.Error())
	}
	return fmt.Errorf("server spec %s: %w", file, err)
}

// validate checks what decoding cannot: required keys, placeholders,
// patterns.
func (s *Spec) validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("server spec %s: key %q: %s", s.file, key, fmt.Sprintf(format, args...))
	}
	if s.Name == "" || strings.ContainsAny(s.Name, "/ \t\n") {
		return bad("name", "want a non-empty name without slashes or spaces, got %q", s.Name)
	}
	if len(s.Server.Start) == 0 {
		return bad("server.start", "want the command that runs the server in the foreground, e.g. [\"mydbd\", \"--port={port}\"]")
	}
	if s.Admin.User == "" {
		return bad("admin.user", "want the account the agent uses right after init (e.g. \"root\")")
	}
	if len(s.Account.Create) == 0 {
		return bad("account.create", "want the statements that create the workloads' account ({user_sql}, {password_sql})")
	}
	for i, e := range s.Server.Env {
		if !strings.Contains(e, "=") {
			return bad(fmt.Sprintf("server.env[%d]", i), "want NAME=VALUE, got %q", e)
		}
	}
	type tmpl struct {
		key, text string
		allowed   []string
	}
	var ts []tmpl
	add := func(key string, allowed []string, texts ...string) {
		for i, t := range texts {
			k := key
			if len(texts) > 1 {
				k = fmt.Sprintf("%s[%d]", key, i)
			}
			ts = append(ts, tmpl{k, t, allowed})
		}
	}
	add("server.env", guestPlaceholders, s.Server.Env...)
	add("server.start", guestPlaceholders, s.Server.Start...)
	for i, c := range s.Server.Init {
		if len(c) == 0 {
			return bad(fmt.Sprintf("server.init[%d]", i), "want a command, got an empty list")
		}
		add(fmt.Sprintf("server.init[%d]", i), guestPlaceholders, c...)
	}
	for i, f := range s.Server.Files {
		key := fmt.Sprintf("server.files[%d]", i)
		if f.Path == "" {
			return bad(key+".path", "want the file's guest path")
		}
		if f.Mode > 0o777 {
			return bad(key+".mode", "want permission bits (e.g. 0o644), got %#o", f.Mode)
		}
		add(key+".path", guestPlaceholders, f.Path)
		add(key+".content", guestPlaceholders, f.Content)
	}
	if g := s.Server.StartGate; g != nil {
		if len(g.Args) == 0 {
			return bad("server.start_gate.args", "want the arguments that make the server wait for its release, e.g. [\"-start-gate=stdin\"]")
		}
		if _, ok := gateReleases[g.Release]; !ok {
			return bad("server.start_gate.release", "want one of %s, got %q", strings.Join(slices.Sorted(maps.Keys(gateReleases)), ", "), g.Release)
		}
		add("server.start_gate.args", guestPlaceholders, g.Args...)
	}
	add("server.isolation_config", guestPlaceholders, s.Server.IsolationConfig)
	add("server.log_file", guestPlaceholders, s.Server.LogFile)
	add("server.data_paths", guestPlaceholders, s.Server.DataPaths...)
	add("admin.user", guestPlaceholders, s.Admin.User)
	add("admin.password", guestPlaceholders, s.Admin.Password)
	add("admin.socket", guestPlaceholders, s.Admin.Socket)
	add("admin.bootstrap", guestPlaceholders, s.Admin.Bootstrap...)
	add("account.create", guestPlaceholders, s.Account.Create...)
	add("gc", gcPlaceholders, s.GC)
	add("isolation", isolationPlaceholders, s.Isolation)
	add("undrop", undropPlaceholders, s.Undrop)
	for _, t := range ts {
		for _, m := range placeholderRE.FindAllStringSubmatch(t.text, -1) {
			if !slices.Contains(t.allowed, m[1]) {
				return bad(t.key, "unknown placeholder {%s} (known here: {%s})", m[1], strings.Join(t.allowed, "}, {"))
			}
		}
	}
	if !s.Install.Upload {
		if s.Install.Binary != "" {
			return bad("install.binary", "a binary is uploaded only with install.upload = true")
		}
		for _, t := range ts {
			if strings.Contains(t.text, "{binary}") {
				return bad(t.key, "{binary} needs install.upload = true")
			}
		}
	}
	for i, p := range s.ErrorLogPatterns {
		if _, err := regexp.Compile(p); err != nil {
			return bad(fmt.Sprintf("error_log_patterns[%d]", i), "want a Go regular expression: %v", err)
		}
	}
	r := s.Recovery
	for key, p := range map[string]string{"recovery.duration": r.Duration, "recovery.timestamp": r.Timestamp,
		"recovery.restart": r.Restart, "recovery.begin": r.Begin, "recovery.ready": r.Ready} {
		if _, err := regexp.Compile(p); err != nil {
			return bad(key, "want a Go regular expression: %v", err)
		}
	}
	if r.Duration != "" && regexp.MustCompile(r.Duration).NumSubexp() != 1 {
		return bad("recovery.duration", "want a pattern with one group, the duration")
	}
	if r.Begin != "" || r.Ready != "" || r.Timestamp != "" {
		if r.Begin == "" || r.Ready == "" || r.Timestamp == "" || r.TimestampLayout == "" {
			return bad("recovery", "begin, ready, timestamp and timestamp_layout go together")
		}
		if regexp.MustCompile(r.Timestamp).NumSubexp() != 1 {
			return bad("recovery.timestamp", "want a pattern with one group, the timestamp")
		}
	}
	if s.Server.ReadyTimeout < 0 {
		return bad("server.ready_timeout", "want a positive duration")
	}
	for i, p := range s.Install.Packages {
		if !debianPackageName.MatchString(p) {
			return bad(fmt.Sprintf("install.packages[%d]", i), "want a Debian package name, got %q", p)
		}
	}
	return nil
}

var debianPackageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// Supports says whether the spec lets workload run: listedOnly workloads
// (a server's own features) only if the spec lists them. Which workloads
// need what is the caller's (tests/model).
func (s *Spec) Supports(workload string, needsTransactions, listedOnly bool) error {
	if listedOnly && !slices.Contains(s.Workloads, workload) {
		return fmt.Errorf("target %s does not support workload %q: it uses a server's own features and runs only where the spec lists it (key workloads in %s)", s.Name, workload, s.file)
	}
	if len(s.Workloads) > 0 && !slices.Contains(s.Workloads, workload) {
		return fmt.Errorf("target %s does not support workload %q (its spec %s lists %s)", s.Name, workload, s.file, strings.Join(s.Workloads, ", "))
	}
	if needsTransactions && s.Limits.NoTransactions {
		return fmt.Errorf("target %s has no explicit transactions (limits.no_transactions in %s); workload %q needs them", s.Name, s.file, workload)
	}
	if workload == "gc" && s.GC == "" {
		return fmt.Errorf("target %s has no GC statement (key gc in %s)", s.Name, s.file)
	}
	return nil
}

// GCStatement is the gc workload's statement for tables.
func (s *Spec) GCStatement(tables []string) string {
	return strings.ReplaceAll(s.GC, "{tables}", strings.Join(tables, ", "))
}

// UndropStatement brings back the dropped database (an identifier the
// caller chose: letters, digits, underscores); "" if the server cannot.
func (s *Spec) UndropStatement(database string) string {
	return strings.ReplaceAll(s.Undrop, "{database}", database)
}

// IsolationStatement sets the next transaction's level; "" if the spec
// has no isolation statement.
func (s *Spec) IsolationStatement(level string) string {
	return strings.ReplaceAll(s.Isolation, "{level}", level)
}

// Definition is the guest side of the spec, for ProvisionServer.server.
func (s *Spec) Definition() *pb.ServerDefinition {
	d := &pb.ServerDefinition{
		Name: s.Name, Uploaded: s.Install.Upload, Env: s.Server.Env,
		Start: &pb.Argv{Args: s.Server.Start}, LogFile: s.Server.LogFile, DataPaths: s.Server.DataPaths,
		AdminUser: s.Admin.User, AdminPassword: s.Admin.Password, AdminSocket: s.Admin.Socket,
		Bootstrap: s.Admin.Bootstrap, CreateAccount: s.Account.Create, IsolationConfig: s.Server.IsolationConfig,
		ReadyTimeoutSeconds: time.Duration(s.Server.ReadyTimeout).Seconds(),
		Recovery: &pb.RecoveryPatterns{Duration: s.Recovery.Duration, Timestamp: s.Recovery.Timestamp,
			TimestampLayout: s.Recovery.TimestampLayout, Restart: s.Recovery.Restart,
			Begin: s.Recovery.Begin, Ready: s.Recovery.Ready},
	}
	if g := s.Server.StartGate; g != nil {
		d.StartGate = &pb.StartGate{Args: g.Args, Release: gateReleases[g.Release]}
	}
	for _, f := range s.Server.Files {
		d.Files = append(d.Files, &pb.ServerFile{Path: f.Path, Content: f.Content, Mode: f.Mode})
	}
	for _, c := range s.Server.Init {
		d.Init = append(d.Init, &pb.Argv{Args: c})
	}
	return d
}
