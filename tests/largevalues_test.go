package tests

import (
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// largeValues makes every insert of the set workload carry a 22-25 MiB
// payload. The bundled server keeps up to 4 rows in a tree leaf, so the
// third insert into a leaf writes one chunk of over 64 MiB
// (journal.MaxRecordBody) in a single commit: the shape of issue 17 item 1
// (three 25 MiB rows, acknowledged, gone after any restart).
var largeValues = model.ValueSizes{P: 1, Min: 22 << 20, Max: 25 << 20}

// TestLargeValuesCleanRestart is TestCrash on the local backend with
// multi-MiB rows and a nemesis that restarts the server cleanly (SIGTERM +
// start) half of the time and kills it otherwise: every acknowledged row
// and its payload must survive both.
func TestLargeValuesCleanRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about a GiB of 22-25 MiB rows")
	}
	cfg := config(t)
	if cfg.Check != "" {
		t.Skip("-crash.check re-checks a saved run; see TestCrash")
	}
	cfg.Workloads, cfg.ValueSize, cfg.Workers = []string{model.Set}, largeValues, 1
	cfg.Duration, cfg.Interval, cfg.Jitter = 20*time.Second, 4*time.Second, time.Second
	cfg.MinCycles, cfg.MaxDuration = 3, 0
	cfg.Backend, cfg.FS, cfg.Fault, cfg.GCPause = "local", []string{"ext4-ordered"}, "", 0
	fs, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), CleanRestart: 0.5, Logf: t.Logf}
	rep := runCrash(t, cfg, fs[0], backend)
	t.Log(rep.Summary())
	switch rep.Verdict() {
	case report.Failed:
		t.Fatalf("large values across clean restarts and kills: durability check failed; repro: %s", rep.Repro)
	case report.Inconclusive:
		t.Fatalf("INCONCLUSIVE, not a durability finding: %s\nrepro: %s", rep.Inconclusive, rep.Repro)
	}
	clean := 0
	for _, cr := range rep.Recoveries {
		if cr.Kind == localserver.KindCleanRestart {
			clean++
		}
	}
	if clean == 0 {
		t.Errorf("no clean restart in %d cycles: the run did not test what it is for", rep.Cycles)
	}
	// A server may also refuse a commit it cannot journal (issue 17 allows
	// "refused before the ack"), so only one large row is required; the
	// log says how many were checked.
	res := rep.Results[0]
	if n := res.Stats["payload-bytes-checked"]; n < int(largeValues.Min) {
		t.Errorf("only %d payload bytes checked; want at least one large row (%s)", n, res.Summary())
	}
	t.Logf("%d clean restarts in %d cycles; %d MiB of payloads checked at the end; inserts ok=%d fail=%d info=%d",
		clean, rep.Cycles, res.Stats["payload-bytes-checked"]>>20, res.Stats["add-ok"], res.Stats["add-fail"], res.Stats["add-info"])
}
