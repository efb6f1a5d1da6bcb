package harness

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crashrig/crashrig/serverkind"

	"github.com/crashrig/crashrig/tests/model"
)

// Config is a crash run's configuration, from flags and environment.
type Config struct {
	Duration time.Duration
	// MinCycles is the number of crashes a run needs to mean something;
	// the run goes on past Duration until it has them, up to Bound().
	MinCycles int
	// MaxDuration is the hard bound on a run's length; 0 means
	// DefaultBoundFactor * Duration.
	MaxDuration time.Duration
	Interval    time.Duration
	Jitter      time.Duration
	Seed        uint64
	Target      string
	FS          []string
	Workers     int
	Workloads   []string
	Artifacts   string
	Check       string
	Fault       string
	GCPause     time.Duration
	Backend     string
	// ValueSize is the set workload's payload length distribution.
	ValueSize model.ValueSizes
	// Isolation is the level the append workload asks for and is judged
	// against (model.Isolations).
	Isolation string
	// Report says when a run writes report.html (ReportModes).
	Report string
	// Nemesis is what happens between crashes (Nemeses); IOFaults the
	// fault kinds the iofault nemesis draws from; RecoverWithin how soon
	// after a fault ends the server must take writes again.
	Nemesis       string
	IOFaults      []string
	RecoverWithin time.Duration
	// States is how many extra power-cut states a cycle samples and
	// checks besides the one the run continues on (powercut only).
	States int
	// Replay is a run directory whose recorded power cut to rebuild and
	// recover in a VM instead of running.
	Replay string
	// Restart is how a VM comes back after a crash (RestartModes).
	Restart string
}

// Defaults. Duration is short enough for CI; users ask for hours.
const (
	DefaultDuration  = 30 * time.Second
	DefaultMinCycles = 3
	DefaultInterval  = 3 * time.Second
	DefaultJitter    = 1 * time.Second
	DefaultWorkers   = 3
	// DefaultBoundFactor: without -crash.max-duration a run stops at the
	// latest after this many times -crash.duration. Under TCG on a busy
	// 2-core host a reset took up to 29 s (issue 10), so three cycles of a
	// 30 s run need about 100 s.
	DefaultBoundFactor = 4
)

// Bound is the hard bound on the run's length.
func (c Config) Bound() time.Duration {
	if c.MaxDuration > 0 {
		return c.MaxDuration
	}
	return DefaultBoundFactor * c.Duration
}

// repro says whether the repro command carries a flag.
type repro int

const (
	// reproAlways: the flag shapes the run; repro.txt always carries it.
	reproAlways repro = iota
	// reproIfSet: the flag shapes the run when not at its default (the
	// TEST-ONLY switches); repro.txt carries it then.
	reproIfSet
	// reproNever: the flag says where output goes or what to do instead
	// of a run; it does not shape a run.
	reproNever
)

// flagDef is one -crash.* flag: its environment variable (for `bazel test
// --test_env=...`, where flags are awkward), default, usage, the Config
// field it sets and how repro.txt renders it. RegisterFlags, Resolve and
// ReproFlags all read this one table.
type flagDef struct {
	name, env, def, usage string
	field                 func(c *Config) flag.Value
	repro                 repro
	// example is a valid value other than the default, for tests.
	example string
}

var flagDefs = []flagDef{
	{"crash.duration", "CRASHRIG_DURATION", DefaultDuration.String(), "planned run length: workloads and crashes",
		func(c *Config) flag.Value { return durationValue(&c.Duration) }, reproAlways, "2h0m0s"},
	{"crash.min-cycles", "CRASHRIG_MIN_CYCLES", strconv.Itoa(DefaultMinCycles), "crash cycles a run needs to mean something; a run goes on past -crash.duration until it has them, up to -crash.max-duration",
		func(c *Config) flag.Value { return intValue(&c.MinCycles) }, reproAlways, "7"},
	{"crash.max-duration", "CRASHRIG_MAX_DURATION", "0s", fmt.Sprintf("hard bound on a run's length while it waits for -crash.min-cycles; 0 means %d x -crash.duration. A run that reaches it with fewer cycles is inconclusive (infrastructure too slow)", DefaultBoundFactor),
		func(c *Config) flag.Value { return durationValue(&c.MaxDuration) }, reproAlways, "3h0m0s"},
	{"crash.interval", "CRASHRIG_INTERVAL", DefaultInterval.String(), "mean time between crashes",
		func(c *Config) flag.Value { return durationValue(&c.Interval) }, reproAlways, "7s"},
	{"crash.jitter", "CRASHRIG_JITTER", DefaultJitter.String(), "crash times vary by up to +/- this",
		func(c *Config) flag.Value { return durationValue(&c.Jitter) }, reproAlways, "2s"},
	{"crash.seed", "CRASHRIG_SEED", "0", "seed for workload choices and the crash schedule; 0 picks one and prints it",
		func(c *Config) flag.Value { return uintValue(&c.Seed) }, reproAlways, "99"},
	{"crash.target", "CRASHRIG_TARGET", string(model.Bundled), "server under test: a built-in target (" + joinTargets() + ") or the path of a server spec file NAME.toml (README: your own server)",
		func(c *Config) flag.Value { return stringValue(&c.Target) }, reproAlways, string(model.MariaDB)},
	{"crash.fs", "CRASHRIG_FS", strings.Join(DefaultFSNames(), ","), "comma-separated filesystem configs (" + strings.Join(FSNames(), ", ") + "); one subtest each; VM backends only",
		func(c *Config) flag.Value { return listValue(&c.FS) }, reproAlways, "xfs,ext4-journal"},
	{"crash.workers", "CRASHRIG_WORKERS", strconv.Itoa(DefaultWorkers), "clients per DML workload",
		func(c *Config) flag.Value { return intValue(&c.Workers) }, reproAlways, "5"},
	{"crash.workloads", "CRASHRIG_WORKLOADS", strings.Join(model.DefaultWorkloads, ","), "comma-separated workloads (" + strings.Join(model.Workloads, ", ") + ")",
		func(c *Config) flag.Value { return listValue(&c.Workloads) }, reproAlways, "set,ddl"},
	{"crash.value-size", "CRASHRIG_VALUE_SIZE", model.SmallValues, "payload sizes of the set workload's inserts: small (none) or mix:p=P,max=SIZE[,min=SIZE] (a payload of min..max bytes, min default 1MiB, with probability P; sizes in B, KiB, MiB, GiB), e.g. mix:p=0.02,max=24MiB",
		func(c *Config) flag.Value { return valueSizesValue(&c.ValueSize) }, reproAlways, "mix:p=0.02,min=1MiB,max=24MiB"},
	{"crash.isolation", "CRASHRIG_ISOLATION", model.DefaultIsolation, "isolation level the append workload's transactions ask for and are judged against (" + joinIsolations() + ")",
		func(c *Config) flag.Value { return stringValue(&c.Isolation) }, reproAlways, "read-committed"},
	{"crash.artifacts", "CRASHRIG_ARTIFACTS", "", "directory for artifacts (default $TEST_UNDECLARED_OUTPUTS_DIR, else a temp dir kept only on failure)",
		func(c *Config) flag.Value { return stringValue(&c.Artifacts) }, reproNever, "/tmp/crash-artifacts"},
	{"crash.check", "CRASHRIG_CHECK", "", "re-check a saved run directory (history.jsonl + state.json) offline instead of running",
		func(c *Config) flag.Value { return stringValue(&c.Check) }, reproNever, "/tmp/run-dir"},
	{"crash.fault", "CRASHRIG_FAULT", "", "TEST-ONLY durability bug to plant in the bundled server (" + strings.Join(FaultNames(), ", ") + "; see database/README.md)",
		func(c *Config) flag.Value { return stringValue(&c.Fault) }, reproIfSet, "gc-early-delete"},
	{"crash.gc-pause", "CRASHRIG_GC_PAUSE", "0s", "TEST-ONLY: bundled server's -unsafe-gc-pause, widens GC crash windows",
		func(c *Config) flag.Value { return durationValue(&c.GCPause) }, reproIfSet, "300ms"},
	{"crash.report", "CRASHRIG_REPORT", ReportModes[0], "when a run directory gets report.html: " + strings.Join(ReportModes, " (failing and inconclusive runs) or ") + " (passing runs too, kept)",
		func(c *Config) flag.Value { return stringValue(&c.Report) }, reproNever, ReportModes[1]},
	{"crash.nemesis", "CRASHRIG_NEMESIS", Nemeses[0].Name, "what happens besides the crashes: " + joinNemeses(),
		func(c *Config) flag.Value { return stringValue(&c.Nemesis) }, reproAlways, NemesisPowerCut},
	{"crash.iofaults", "CRASHRIG_IOFAULTS", strings.Join(IOFaultNames(), ","), "comma-separated I/O fault kinds the iofault nemesis draws from (" + strings.Join(IOFaultNames(), ", ") + ")",
		func(c *Config) flag.Value { return listValue(&c.IOFaults) }, reproAlways, "write-error,slow"},
	{"crash.recover-within", "CRASHRIG_RECOVER_WITHIN", DefaultRecoverWithin.String(), "after an I/O fault ends (cleared, or ended by the crash), the server must take a write within this",
		func(c *Config) flag.Value { return durationValue(&c.RecoverWithin) }, reproAlways, "2m0s"},
	{"crash.states", "CRASHRIG_STATES", "0", "powercut: extra crash states per cycle, cut at seeded points of the cycle's write log, each recovered by the server in a VM and checked, then thrown away",
		func(c *Config) flag.Value { return intValue(&c.States) }, reproIfSet, "3"},
	{"crash.replay", "CRASHRIG_REPLAY", "", "rebuild the power cut recorded in a saved run directory (its write log, base image and choices) and run the server's recovery on it in a VM instead of running",
		func(c *Config) flag.Value { return stringValue(&c.Replay) }, reproNever, "/tmp/run-dir"},
	{"crash.backend", "CRASHRIG_BACKEND", "vm", "where the server runs: vm (QEMU VM, hard reset through QMP) or local (child process, kill -9; bundled server only)",
		func(c *Config) flag.Value { return stringValue(&c.Backend) }, reproAlways, "local"},
	{"crash.restart", "CRASHRIG_RESTART", RestartModes[0], "how a VM comes back after a crash: " + RestartStandby + " (the crashed VM's data disk, or a power cut's built state, is hot-plugged into a VM restored ahead from a saved standby; see docs/architecture.md) or " + RestartReboot + " (QMP system_reset, or a boot on the power cut's state: the guest boots again)",
		func(c *Config) flag.Value { return stringValue(&c.Restart) }, reproAlways, RestartReboot},
}

// The values of -crash.restart.
const (
	RestartStandby = "standby"
	RestartReboot  = "reboot"
)

// RestartModes are the values of -crash.restart, the default first.
var RestartModes = []string{RestartStandby, RestartReboot}

// ReportModes are the values of -crash.report: a page for runs that did
// not pass (the default), or for every run.
var ReportModes = []string{"failed", "always"}

// ReportAlways says whether cfg asks for report.html in passing runs too.
func (c Config) ReportAlways() bool { return c.Report == ReportModes[1] }

func joinTargets() string { return strings.Join(serverkind.TargetNames(), ", ") }

// Server loads the target's spec (-crash.target) and names its flavor: the
// built-in name as given, else the spec's name.
func (c Config) Server() (*serverkind.Spec, model.Flavor, error) {
	s, err := serverkind.LoadTarget(c.Target)
	if err != nil {
		return nil, "", fmt.Errorf("-crash.target: %w", err)
	}
	if strings.HasSuffix(c.Target, ".toml") {
		return s, model.Flavor(s.Name), nil
	}
	return s, model.Flavor(c.Target), nil
}

func joinNemeses() string {
	parts := make([]string, len(Nemeses))
	for i, n := range Nemeses {
		parts[i] = n.Name + " (" + n.Usage + ")"
	}
	return strings.Join(parts, ", ")
}

func joinIsolations() string {
	names := make([]string, len(model.Isolations))
	for i, l := range model.Isolations {
		names[i] = l.Name
	}
	return strings.Join(names, ", ")
}

// Flags holds registered flags until Resolve.
type Flags struct {
	fs  *flag.FlagSet
	cfg Config
}

// RegisterFlags registers the -crash.* flags on fs (flag.CommandLine in a
// test package, so `go test ./tests -crash.seed=...` works).
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	for _, d := range flagDefs {
		v := d.field(&f.cfg)
		if err := v.Set(d.def); err != nil {
			panic(fmt.Sprintf("flag %s: bad default %q: %v", d.name, d.def, err))
		}
		fs.Var(v, d.name, d.usage+" [$"+d.env+"]")
	}
	return f
}

// Resolve returns the configuration after flag parsing: a flag set on the
// command line wins, then its environment variable, then the default. A
// zero seed is replaced by a fresh one (and Config.Seed says which).
func (f *Flags) Resolve(getenv func(string) string) (Config, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, d := range flagDefs {
		if set[d.name] {
			continue
		}
		if v := getenv(d.env); v != "" {
			if err := f.fs.Set(d.name, v); err != nil {
				return Config{}, fmt.Errorf("$%s (-%s): %w", d.env, d.name, err)
			}
		}
	}
	c := f.cfg
	c.FS = append([]string(nil), c.FS...)
	c.Workloads = append([]string(nil), c.Workloads...)
	c.IOFaults = append([]string(nil), c.IOFaults...)
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Artifacts == "" {
		c.Artifacts = getenv("TEST_UNDECLARED_OUTPUTS_DIR")
	}
	return c, c.Validate()
}

// Validate checks values that would otherwise fail late; each error names
// the flag (and the known values, for name lists).
func (c Config) Validate() error {
	switch {
	case c.Duration <= 0:
		return fmt.Errorf("-crash.duration must be positive, got %v", c.Duration)
	case c.MinCycles < 0:
		return fmt.Errorf("-crash.min-cycles must not be negative, got %d", c.MinCycles)
	case c.MaxDuration < 0 || (c.MaxDuration > 0 && c.MaxDuration < c.Duration):
		return fmt.Errorf("-crash.max-duration must be 0 or at least -crash.duration (%v), got %v", c.Duration, c.MaxDuration)
	case c.Interval <= 0:
		return fmt.Errorf("-crash.interval must be positive, got %v", c.Interval)
	case c.Jitter < 0 || c.Jitter >= c.Interval:
		return fmt.Errorf("-crash.jitter must be in [0, -crash.interval), got %v", c.Jitter)
	case c.Workers <= 0:
		return fmt.Errorf("-crash.workers must be positive, got %d", c.Workers)
	}
	server, _, err := c.Server()
	if err != nil {
		return err
	}
	if _, err := LookupFS(c.FS); err != nil {
		return err
	}
	if len(c.Workloads) == 0 {
		return fmt.Errorf("-crash.workloads: no workloads given (known: %s)", strings.Join(model.Workloads, ", "))
	}
	if err := model.CheckWorkloads(c.Workloads); err != nil {
		return fmt.Errorf("-crash.workloads: %w", err)
	}
	for _, w := range c.Workloads {
		if err := server.Supports(w, model.NeedsTransactions(w), slices.Contains(model.ListedOnly, w)); err != nil {
			return fmt.Errorf("-crash.workloads: %w", err)
		}
		if w == model.Append && server.Isolation == "" {
			return fmt.Errorf("-crash.workloads: target %s has no isolation statement (key isolation in %s); append sets the level it is judged against", server.Name, server.File())
		}
	}
	if _, err := model.LookupIsolation(c.Isolation); err != nil {
		return fmt.Errorf("-crash.isolation: %w", err)
	}
	if !slices.Contains(RestartModes, c.Restart) {
		return fmt.Errorf("-crash.restart=%q: want %s", c.Restart, strings.Join(RestartModes, " or "))
	}
	if c.States < 0 {
		return fmt.Errorf("-crash.states must not be negative, got %d", c.States)
	}
	if c.States > 0 && c.Nemesis != NemesisPowerCut {
		return fmt.Errorf("-crash.states=%d samples power-cut states: it needs -crash.nemesis=powercut", c.States)
	}
	if !slices.Contains(ReportModes, c.Report) {
		return fmt.Errorf("-crash.report: unknown value %q (known: %s)", c.Report, strings.Join(ReportModes, ", "))
	}
	if c.Fault != "" {
		if _, err := LookupFault(c.Fault); err != nil {
			return err
		}
	}
	return c.validateNemesis()
}

// ReproFlags renders c as command-line flags: every flag of the table that
// shapes a run.
func (c Config) ReproFlags() []string {
	var fl []string
	for _, d := range flagDefs {
		v := d.field(&c).String()
		if d.repro == reproNever || (d.repro == reproIfSet && v == d.def) {
			continue
		}
		fl = append(fl, "-"+d.name+"="+v)
	}
	return fl
}

// value is a flag.Value over a Config field.
type value[T any] struct {
	p      *T
	parse  func(string) (T, error)
	format func(T) string
}

func (v value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func (v value[T]) String() string {
	if v.p == nil { // the flag package's zero-value probe
		return ""
	}
	return v.format(*v.p)
}

func durationValue(p *time.Duration) flag.Value {
	return value[time.Duration]{p, time.ParseDuration, time.Duration.String}
}

func valueSizesValue(p *model.ValueSizes) flag.Value {
	return value[model.ValueSizes]{p, model.ParseValueSizes, model.ValueSizes.String}
}

func intValue(p *int) flag.Value { return value[int]{p, strconv.Atoi, strconv.Itoa} }

func uintValue(p *uint64) flag.Value {
	return value[uint64]{p, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) },
		func(u uint64) string { return strconv.FormatUint(u, 10) }}
}

func stringValue(p *string) flag.Value {
	return value[string]{p, func(s string) (string, error) { return s, nil }, func(s string) string { return s }}
}

// listValue is a comma-separated list; blanks around items are dropped.
func listValue(p *[]string) flag.Value {
	return value[[]string]{p, func(s string) ([]string, error) { return splitList(s), nil },
		func(l []string) string { return strings.Join(l, ",") }}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
