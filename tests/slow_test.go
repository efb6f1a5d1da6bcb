package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/workload"
)

// slowNemesis makes every crash take delay longer, as resets on a loaded
// host do.
type slowNemesis struct {
	harness.Nemesis
	delay time.Duration
}

func (s slowNemesis) Crash(ctx context.Context) (report.CrashReport, error) {
	start := time.Now()
	if err := workload.Sleep(ctx, s.delay); err != nil {
		return report.CrashReport{Requested: start}, err
	}
	cr, err := s.Nemesis.Crash(ctx)
	cr.Requested, cr.Ready = start, time.Since(start)
	return cr, err
}

// A run whose resets are too slow for its planned length goes on until it
// has the minimum number of crash cycles; past the hard bound it is
// inconclusive, with the measured reset times, and not a failure.
func TestSlowResetsExtendOrAreInconclusive(t *testing.T) {
	base := config(t)
	base.Workloads, base.Workers, base.Backend, base.FS = []string{model.Set}, 1, "local", []string{"ext4-ordered"}
	base.Duration, base.Interval, base.Jitter, base.MinCycles = 2*time.Second, 500*time.Millisecond, 0, 3
	fs, _ := harness.LookupFS([]string{"ext4-ordered"})
	run := func(t *testing.T, cfg harness.Config, delay time.Duration) *report.Report {
		cfg.Artifacts = t.TempDir()
		backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir()}
		return runCrashWith(t, cfg, fs[0], backend, func(inst harness.Instance) harness.Nemesis {
			return slowNemesis{inst, delay}
		})
	}

	t.Run("extends", func(t *testing.T) {
		cfg := base
		cfg.MaxDuration = time.Minute
		// The first reset alone outlasts the planned 2 s.
		rep := run(t, cfg, 1500*time.Millisecond)
		t.Log(rep.Summary())
		if rep.Verdict() != report.Passed || rep.Cycles != cfg.MinCycles || rep.Elapsed <= cfg.Duration {
			t.Fatalf("want a passing run of exactly %d cycles, longer than the planned %v; got %s, %d cycles in %v",
				cfg.MinCycles, cfg.Duration, rep.Verdict(), rep.Cycles, rep.Elapsed)
		}
	})

	t.Run("bound", func(t *testing.T) {
		cfg := base
		cfg.MaxDuration = 3 * time.Second
		// Two resets of over 2 s each cannot fit in 3 s.
		rep := run(t, cfg, 2*time.Second)
		t.Log(rep.Summary())
		if rep.Verdict() != report.Inconclusive || rep.Failed() {
			t.Fatalf("want an inconclusive run, got %s:\n%s", rep.Verdict(), rep.Summary())
		}
		for _, want := range []string{"infrastructure too slow", "1 of the 3 crash cycles", "-crash.max-duration", "#1 ready ", "not a durability finding"} {
			if !strings.Contains(rep.Inconclusive, want) {
				t.Errorf("inconclusive message lacks %q: %s", want, rep.Inconclusive)
			}
		}
		if !strings.Contains(rep.Summary(), "INCONCLUSIVE (not a durability finding)") || strings.Contains(rep.Summary(), "FAILED") {
			t.Errorf("summary:\n%s", rep.Summary())
		}
		saved, err := report.Read(rep.Dir)
		if err != nil || saved.Verdict() != report.Inconclusive {
			t.Fatalf("report.json: %v, verdict %v", err, saved)
		}
		if _, err := os.Stat(filepath.Join(rep.Dir, report.ReproFile)); err != nil {
			t.Errorf("an inconclusive run keeps its repro command: %v", err)
		}
	})
}
