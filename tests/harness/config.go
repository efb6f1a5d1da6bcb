// Package harness drives a crash test: it runs workloads against a Target,
// has a Nemesis crash the server on a seeded schedule, checks the state
// after every recovery and at the end, and persists the evidence
// (history, state snapshot, report, repro command) even when the test
// panics.
//
// The harness knows nothing about VMs: a backend supplies a Target (where
// the server answers) and a Nemesis (crash it and wait until it answers
// again). tests/localserver is the process-kill backend; the VM control
// plane plugs in the same way.
package harness

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is a crash run's configuration, from flags and environment.
type Config struct {
	Duration  time.Duration
	Interval  time.Duration
	Jitter    time.Duration
	Seed      uint64
	Target    string
	FS        []string
	Workers   int
	Workloads []string
	Artifacts string
	Check     string
	Fault     string
	GCPause   time.Duration
	Backend   string
}

// flagSpec ties a flag to its environment variable (for
// `bazel test --test_env=...`, where flags are awkward).
type flagSpec struct{ name, env string }

var specs = []flagSpec{
	{"crash.duration", "CRASHRIG_DURATION"},
	{"crash.interval", "CRASHRIG_INTERVAL"},
	{"crash.jitter", "CRASHRIG_JITTER"},
	{"crash.seed", "CRASHRIG_SEED"},
	{"crash.target", "CRASHRIG_TARGET"},
	{"crash.fs", "CRASHRIG_FS"},
	{"crash.workers", "CRASHRIG_WORKERS"},
	{"crash.workloads", "CRASHRIG_WORKLOADS"},
	{"crash.artifacts", "CRASHRIG_ARTIFACTS"},
	{"crash.check", "CRASHRIG_CHECK"},
	{"crash.fault", "CRASHRIG_FAULT"},
	{"crash.gc-pause", "CRASHRIG_GC_PAUSE"},
	{"crash.backend", "CRASHRIG_BACKEND"},
}

// Flags holds registered flags until Resolve.
type Flags struct {
	fs        *flag.FlagSet
	cfg       Config
	seed      uint64
	fsList    string
	workloads string
}

// Defaults. Duration is short enough for CI; users ask for hours.
const (
	DefaultDuration = 30 * time.Second
	DefaultInterval = 3 * time.Second
	DefaultJitter   = 1 * time.Second
	DefaultWorkers  = 3
)

// RegisterFlags registers the -crash.* flags on fs (flag.CommandLine in a
// test package, so `go test ./tests -crash.seed=...` works).
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	c := &f.cfg
	fs.DurationVar(&c.Duration, "crash.duration", DefaultDuration, "how long to run workloads and crashes [$CRASHRIG_DURATION]")
	fs.DurationVar(&c.Interval, "crash.interval", DefaultInterval, "mean time between crashes [$CRASHRIG_INTERVAL]")
	fs.DurationVar(&c.Jitter, "crash.jitter", DefaultJitter, "crash times vary by up to +/- this [$CRASHRIG_JITTER]")
	fs.Uint64Var(&f.seed, "crash.seed", 0, "seed for workload choices and the crash schedule; 0 picks one and prints it [$CRASHRIG_SEED]")
	fs.StringVar(&c.Target, "crash.target", "bundled", "server flavour: bundled or mariadb [$CRASHRIG_TARGET]")
	fs.StringVar(&f.fsList, "crash.fs", "ext4-ordered,ext4-writeback,ext4-journal,ext4-noautoda", "comma-separated filesystem configs ("+strings.Join(FSNames(), ", ")+"); VM backends only [$CRASHRIG_FS]")
	fs.IntVar(&c.Workers, "crash.workers", DefaultWorkers, "clients per DML workload [$CRASHRIG_WORKERS]")
	fs.StringVar(&f.workloads, "crash.workloads", "set,register,bank,ddl,gc", "comma-separated workloads [$CRASHRIG_WORKLOADS]")
	fs.StringVar(&c.Artifacts, "crash.artifacts", "", "directory for artifacts (default $TEST_UNDECLARED_OUTPUTS_DIR, else a temp dir kept only on failure) [$CRASHRIG_ARTIFACTS]")
	fs.StringVar(&c.Check, "crash.check", "", "re-check a saved run directory (history.jsonl + state.json) offline instead of running [$CRASHRIG_CHECK]")
	fs.StringVar(&c.Fault, "crash.fault", "", "TEST-ONLY durability bug to plant in the bundled server (see database/README.md) [$CRASHRIG_FAULT]")
	fs.DurationVar(&c.GCPause, "crash.gc-pause", 0, "TEST-ONLY: bundled server's -unsafe-gc-pause, widens GC crash windows [$CRASHRIG_GC_PAUSE]")
	fs.StringVar(&c.Backend, "crash.backend", "vm", "where the server runs: vm (QEMU VM, hard reset through QMP) or local (child process, kill -9; bundled server only) [$CRASHRIG_BACKEND]")
	return f
}

// Resolve returns the configuration after flag parsing: a flag set on the
// command line wins, then its environment variable, then the default. A
// zero seed is replaced by a fresh one (and Config.Seed says which).
func (f *Flags) Resolve(getenv func(string) string) (Config, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range specs {
		if set[s.name] {
			continue
		}
		if v := getenv(s.env); v != "" {
			if err := f.fs.Set(s.name, v); err != nil {
				return Config{}, fmt.Errorf("$%s: %w", s.env, err)
			}
		}
	}
	c := f.cfg
	c.Seed = f.seed
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	c.FS = splitList(f.fsList)
	c.Workloads = splitList(f.workloads)
	if c.Artifacts == "" {
		c.Artifacts = getenv("TEST_UNDECLARED_OUTPUTS_DIR")
	}
	return c, c.Validate()
}

// Validate checks values that would otherwise fail late.
func (c Config) Validate() error {
	switch {
	case c.Duration <= 0:
		return fmt.Errorf("crash.duration must be positive, got %v", c.Duration)
	case c.Interval <= 0:
		return fmt.Errorf("crash.interval must be positive, got %v", c.Interval)
	case c.Jitter < 0 || c.Jitter >= c.Interval:
		return fmt.Errorf("crash.jitter must be in [0, interval), got %v", c.Jitter)
	case c.Workers <= 0:
		return fmt.Errorf("crash.workers must be positive, got %d", c.Workers)
	}
	if _, err := LookupFS(c.FS); err != nil {
		return err
	}
	return nil
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

// ReproFlags renders c as command-line flags (the seed and everything that
// shapes the run).
func (c Config) ReproFlags() []string {
	fl := []string{
		"-crash.seed=" + strconv.FormatUint(c.Seed, 10),
		"-crash.duration=" + c.Duration.String(),
		"-crash.interval=" + c.Interval.String(),
		"-crash.jitter=" + c.Jitter.String(),
		"-crash.target=" + c.Target,
		"-crash.fs=" + strings.Join(c.FS, ","),
		"-crash.workers=" + strconv.Itoa(c.Workers),
		"-crash.workloads=" + strings.Join(c.Workloads, ","),
		"-crash.backend=" + c.Backend,
	}
	if c.Fault != "" {
		fl = append(fl, "-crash.fault="+c.Fault)
	}
	if c.GCPause != 0 {
		fl = append(fl, "-crash.gc-pause="+c.GCPause.String())
	}
	return fl
}

// FSConfig is a named filesystem setup for the server's data directory:
// how a VM backend formats and mounts the disk.
type FSConfig struct {
	Name         string
	Mkfs         []string
	MountOptions string
}

// FSConfigs are the known filesystem configurations. ext4's data= mode
// decides what a crash can leave behind (writeback: stale or zero blocks
// in files whose metadata was committed). ext4-noautoda turns off
// auto_da_alloc, ext4's workaround for applications that replace a file by
// truncating and rewriting it without fsync: with it off such a file is
// empty after a crash until writeback (up to 30 s), the classic
// zero-length-file outcome that the default setting hides.
var FSConfigs = map[string]FSConfig{
	"ext4-ordered":   {Name: "ext4-ordered", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=ordered"},
	"ext4-writeback": {Name: "ext4-writeback", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=writeback"},
	"ext4-journal":   {Name: "ext4-journal", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=journal"},
	"ext4-noautoda":  {Name: "ext4-noautoda", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=ordered,noauto_da_alloc"},
	"xfs":            {Name: "xfs", Mkfs: []string{"mkfs.xfs", "-f", "-q"}},
	"btrfs":          {Name: "btrfs", Mkfs: []string{"mkfs.btrfs", "-f", "-q"}},
}

// FSNames lists FSConfigs' names, sorted.
func FSNames() []string {
	names := make([]string, 0, len(FSConfigs))
	for n := range FSConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupFS resolves names to configs.
func LookupFS(names []string) ([]FSConfig, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("crash.fs: no filesystem configs given")
	}
	out := make([]FSConfig, 0, len(names))
	for _, n := range names {
		fc, ok := FSConfigs[n]
		if !ok {
			return nil, fmt.Errorf("crash.fs: unknown filesystem config %q (known: %s)", n, strings.Join(FSNames(), ", "))
		}
		out = append(out, fc)
	}
	return out, nil
}
