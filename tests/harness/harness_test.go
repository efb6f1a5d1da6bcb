package harness

import (
	"flag"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/database/store"
	"github.com/crashrig/crashrig/tests/model"
)

func TestScheduleIsDeterministic(t *testing.T) {
	const interval, jitter = 10 * time.Second, 3 * time.Second
	a, b, c := NewSchedule(42, interval, jitter), NewSchedule(42, interval, jitter), NewSchedule(43, interval, jitter)
	var sa, sb, sc []time.Duration
	for i := 0; i < 50; i++ {
		sa, sb, sc = append(sa, a.Next()), append(sb, b.Next()), append(sc, c.Next())
	}
	if !reflect.DeepEqual(sa, sb) {
		t.Fatalf("same seed, different schedules:\n%v\n%v", sa, sb)
	}
	if reflect.DeepEqual(sa, sc) {
		t.Fatal("different seeds gave the same schedule")
	}
	distinct := map[time.Duration]bool{}
	for _, d := range sa {
		if d < interval-jitter || d > interval+jitter {
			t.Fatalf("wait %v outside %v +/- %v", d, interval, jitter)
		}
		distinct[d] = true
	}
	if len(distinct) < 40 {
		t.Fatalf("jitter not applied: only %d distinct waits of 50", len(distinct))
	}
	if d := NewSchedule(1, time.Second, 0).Next(); d != time.Second {
		t.Fatalf("zero jitter: got %v", d)
	}
}

func resolve(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Resolve(func(k string) string { return env[k] })
}

func TestConfigPrecedence(t *testing.T) {
	cfg, err := resolve(t, []string{"-crash.workers=5"}, map[string]string{
		"CRASHRIG_WORKERS":            "7", // the flag wins
		"CRASHRIG_DURATION":           "2h",
		"CRASHRIG_SEED":               "42",
		"CRASHRIG_FS":                 "ext4-writeback, ext4-journal",
		"TEST_UNDECLARED_OUTPUTS_DIR": "/bazel/out",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 5 || cfg.Duration != 2*time.Hour || cfg.Seed != 42 || cfg.Artifacts != "/bazel/out" ||
		!reflect.DeepEqual(cfg.FS, []string{"ext4-writeback", "ext4-journal"}) || cfg.Interval != DefaultInterval {
		t.Fatalf("resolved %+v", cfg)
	}
	cfg, err = resolve(t, nil, nil)
	if err != nil || cfg.Seed == 0 || cfg.Duration != DefaultDuration {
		t.Fatalf("defaults: %+v, %v (a zero seed must be replaced)", cfg, err)
	}
	for _, env := range []map[string]string{
		{"CRASHRIG_FS": "zfs"},
		{"CRASHRIG_DURATION": "soon"},
		{"CRASHRIG_JITTER": "10s", "CRASHRIG_INTERVAL": "5s"},
	} {
		if _, err := resolve(t, nil, env); err == nil {
			t.Errorf("env %v accepted", env)
		}
	}
}

// The repro command carries every flag of the table that shapes a run,
// and its flags reproduce the configuration. A new flag needs only its
// table row (with an example value) to be covered here.
func TestReproFlagsCarryEveryRunShapingFlag(t *testing.T) {
	var args []string
	for _, d := range flagDefs {
		if d.example == "" || d.example == d.def {
			t.Errorf("flag %s: the table needs an example value other than the default", d.name)
		}
		args = append(args, "-"+d.name+"="+d.example)
	}
	want, err := resolve(t, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(want.ReproFlags(), " ")
	for _, d := range flagDefs {
		has := strings.Contains(" "+line+" ", " -"+d.name+"="+d.example+" ")
		if has != (d.repro != reproNever) {
			t.Errorf("repro line %q: carries -%s=%s: %v, want %v", line, d.name, d.example, has, d.repro != reproNever)
		}
	}
	got, err := resolve(t, want.ReproFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got.Artifacts, got.Check, got.Replay = want.Artifacts, want.Check, want.Replay // not run-shaping
	got.Report = want.Report                                                       // where output goes, not run-shaping
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("repro flags %s\nresolve to %+v\nwant %+v", line, got, want)
	}
	// Default TEST-ONLY switches stay out of the line.
	def, err := resolve(t, []string{"-crash.seed=5"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := strings.Join(def.ReproFlags(), " "); strings.Contains(l, "crash.fault") || strings.Contains(l, "crash.gc-pause") {
		t.Errorf("defaults render TEST-ONLY switches: %s", l)
	}
}

func TestFlagTableNames(t *testing.T) {
	names, envs := map[string]bool{}, map[string]bool{}
	for _, d := range flagDefs {
		if !strings.HasPrefix(d.name, "crash.") || !strings.HasPrefix(d.env, "CRASHRIG_") || names[d.name] || envs[d.env] {
			t.Errorf("flag %s / $%s: want unique crash.* names and CRASHRIG_* variables", d.name, d.env)
		}
		names[d.name], envs[d.env] = true, true
	}
}

// Validation errors name the flag and list the known values.
func TestValidationNamesFlagAndKnownValues(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"CRASHRIG_FS": "zfs"}, []string{"-crash.fs", "zfs", "ext4-ordered, ext4-writeback"}},
		{map[string]string{"CRASHRIG_WORKLOADS": "set,queue"}, []string{"-crash.workloads", "queue", "set, register, bank, ddl, gc"}},
		{map[string]string{"CRASHRIG_TARGET": "postgres"}, []string{"-crash.target", "postgres", "bundled, dolt, mariadb", "PATH.toml"}},
		{map[string]string{"CRASHRIG_TARGET": "/nonexistent/mydb.toml"}, []string{"-crash.target", "/nonexistent/mydb.toml"}},
		{map[string]string{"CRASHRIG_TARGET": "dolt", "CRASHRIG_WORKLOADS": "set,append"}, []string{"-crash.workloads", "dolt", "append"}},
		{map[string]string{"CRASHRIG_FAULT": "lose-everything"}, []string{"-crash.fault", "lose-everything", "accept-torn-tail"}},
		{map[string]string{"CRASHRIG_MAX_DURATION": "10s", "CRASHRIG_DURATION": "1m"}, []string{"-crash.max-duration"}},
		{map[string]string{"CRASHRIG_MIN_CYCLES": "many"}, []string{"CRASHRIG_MIN_CYCLES", "-crash.min-cycles"}},
	} {
		_, err := resolve(t, nil, tc.env)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("env %v: error %v, want it to mention %q", tc.env, err, w)
			}
		}
	}
}

func TestBound(t *testing.T) {
	cfg, err := resolve(t, []string{"-crash.duration=1m"}, nil)
	if err != nil || cfg.Bound() != DefaultBoundFactor*time.Minute || cfg.MinCycles != DefaultMinCycles {
		t.Fatalf("default bound %v, min cycles %d, %v", cfg.Bound(), cfg.MinCycles, err)
	}
	cfg, err = resolve(t, nil, map[string]string{"CRASHRIG_MAX_DURATION": "90m", "CRASHRIG_MIN_CYCLES": "10"})
	if err != nil || cfg.Bound() != 90*time.Minute || cfg.MinCycles != 10 {
		t.Fatalf("bound %v, min cycles %d, %v", cfg.Bound(), cfg.MinCycles, err)
	}
}

// The crash loop's stopping rule: the planned length once the minimum is
// reached, else on at most until the bound.
func TestNextStop(t *testing.T) {
	t0 := time.Unix(1000, 0)
	plannedEnd, bound := t0.Add(30*time.Second), t0.Add(120*time.Second)
	for _, tc := range []struct {
		at        time.Duration
		done      int
		wait      time.Duration
		wantWait  time.Duration
		wantWhy   stop
		situation string
	}{
		{10 * time.Second, 1, 3 * time.Second, 3 * time.Second, keepGoing, "inside the planned length"},
		{28 * time.Second, 5, 3 * time.Second, 2 * time.Second, planned, "planned end within the wait, enough cycles"},
		{28 * time.Second, 1, 3 * time.Second, 3 * time.Second, keepGoing, "planned end within the wait, too few cycles"},
		{90 * time.Second, 2, 3 * time.Second, 3 * time.Second, keepGoing, "past the planned end, too few cycles"},
		{95 * time.Second, 3, 3 * time.Second, 0, planned, "past the planned end, minimum just reached"},
		{118 * time.Second, 2, 3 * time.Second, 2 * time.Second, bounded, "bound within the wait, too few cycles"},
		{130 * time.Second, 2, 3 * time.Second, 0, bounded, "past the bound"},
	} {
		w, why := nextStop(t0.Add(tc.at), plannedEnd, bound, tc.done, 3, tc.wait)
		if w != tc.wantWait || why != tc.wantWhy {
			t.Errorf("%s: got wait %v, stop %d; want %v, %d", tc.situation, w, why, tc.wantWait, tc.wantWhy)
		}
	}
}

// The planned-fault table is the server's own list of fault switches.
func TestFaultTableMatchesServer(t *testing.T) {
	got, want := FaultNames(), append([]string(nil), store.FaultNames...)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("harness.Faults %v, server's store.FaultNames %v", got, want)
	}
	for _, f := range Faults {
		if f.FS != "" {
			if _, err := LookupFS([]string{f.FS}); err != nil {
				t.Errorf("fault %s: %v", f.Name, err)
			}
		}
		if err := model.CheckWorkloads(f.Workloads); err != nil {
			t.Errorf("fault %s: %v", f.Name, err)
		}
	}
}

// tests/README.md documents every flag (with its variable) and every
// planted fault of the tables.
func TestReadmeCoversTables(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, d := range flagDefs {
		if !strings.Contains(readme, "| `-"+d.name+"` | `"+d.env+"` |") {
			t.Errorf("README's flag table lacks -%s ($%s)", d.name, d.env)
		}
	}
	for _, f := range Faults {
		if !strings.Contains(readme, "| `"+f.Name+"` |") {
			t.Errorf("README's planted-fault table lacks %s", f.Name)
		}
	}
	for _, fc := range FSConfigs {
		if !strings.Contains(readme, "`"+fc.Name+"`") {
			t.Errorf("README does not mention filesystem config %s", fc.Name)
		}
	}
}
