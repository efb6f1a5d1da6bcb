package tests

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// TestAppendSerializable runs the append workload against the bundled
// server on the local backend, with kills and clean restarts, judged at
// serializable (the server's claim: one writer, readers on committed
// snapshots), and the register workload, whose reads are checked for
// linearizability.
func TestAppendSerializable(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s crash run")
	}
	cfg := config(t)
	if cfg.Check != "" {
		t.Skip("-crash.check re-checks a saved run; see TestCrash")
	}
	cfg.Workloads, cfg.Isolation = []string{model.Append, model.Register}, "serializable"
	cfg.Duration, cfg.Interval, cfg.Jitter = 15*time.Second, 3*time.Second, time.Second
	cfg.MinCycles, cfg.MaxDuration = 3, 0
	cfg.Backend, cfg.FS, cfg.Fault, cfg.GCPause = "local", []string{"ext4-ordered"}, "", 0
	cfg.Artifacts = t.TempDir()
	fs, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: 0.5, CleanRestart: 0.3, Logf: t.Logf}
	rep := runCrash(t, cfg, fs[0], backend)
	t.Log(rep.Summary())
	if rep.Verdict() != report.Passed {
		t.Fatalf("append at serializable: %s; repro: %s", rep.Verdict(), rep.Repro)
	}
	for _, res := range rep.Results {
		switch res.Workload {
		case model.Append:
			if res.Stats["txn-ok"] < 100 || res.Stats["append-ok"] == 0 {
				t.Errorf("too few committed transactions to mean anything: %s", res.Summary())
			}
		case model.Register:
			if res.Stats["reads"] == 0 {
				t.Errorf("no register read was checked for linearizability: %s", res.Summary())
			}
		}
	}
	// A passing run writes no explanation.
	if m, _ := filepath.Glob(filepath.Join(rep.Dir, "append-*")); len(m) > 0 {
		t.Errorf("explanations written for a passing run: %v", m)
	}
	if _, err := os.Stat(filepath.Join(rep.Dir, report.StateFile)); err != nil {
		t.Errorf("state.json: %v", err)
	}
}
