package harness

import (
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
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

// The repro command's flags must reproduce the configuration.
func TestReproFlagsRoundTrip(t *testing.T) {
	want, err := resolve(t, []string{"-crash.seed=99", "-crash.fault=gc-early-delete", "-crash.gc-pause=300ms", "-crash.workloads=set,ddl", "-crash.interval=7s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := resolve(t, want.ReproFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("repro flags %s\nresolve to %+v\nwant %+v", strings.Join(want.ReproFlags(), " "), got, want)
	}
}
