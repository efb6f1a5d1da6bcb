package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// iofaultSeeds are the seeds the planted fsync-retry fault must be caught
// under, each within its 2-minute budget (issue 13: 5 of 5).
var iofaultSeeds = []uint64{1, 2, 3, 4, 5}

// TestPlantedIOFaultVM runs the iofault nemesis (write errors) against
// the bundled server with -unsafe-fault=retry-fsync-after-error: after a
// failed fsync it retries, the retry succeeds (the failed pages were
// marked clean) and it acknowledges commits whose records never reached
// the disk. The crash during or right after the fault must expose them,
// for every seed. Run one seed with -run 'TestPlantedIOFaultVM/seed=3'.
func TestPlantedIOFaultVM(t *testing.T) {
	base := config(t)
	newBackend := backends["vm"]
	for _, f := range harness.Faults {
		if f.Exposure != harness.ByIOFault {
			continue
		}
		for _, seed := range iofaultSeeds {
			t.Run(fmt.Sprintf("%s/seed=%d", f.Name, seed), func(t *testing.T) {
				cfg := base
				cfg.Fault, cfg.Target, cfg.Seed = f.Name, string(model.Bundled), seed
				cfg.Nemesis, cfg.IOFaults = harness.NemesisIOFault, []string{"write-error"}
				cfg.Duration, cfg.MinCycles, cfg.MaxDuration = 2*time.Minute, plantedMinCycles, 0
				if base.Artifacts == "" {
					cfg.Artifacts = t.TempDir()
				}
				cfg.Backend, cfg.FS = "vm", []string{"ext4-ordered"}
				fs, err := harness.LookupFS(cfg.FS)
				if err != nil {
					t.Fatal(err)
				}
				rep := runCrash(t, cfg, fs[0], newBackend(t, cfg))
				switch rep.Verdict() {
				case report.Inconclusive:
					t.Fatalf("planted fault %s: INCONCLUSIVE, the host was too slow (not a verdict on the fault): %s", f.Name, rep.Inconclusive)
				case report.Passed:
					t.Fatalf("planted fault %s went undetected in %v (%d resets):\n%s", f.Name, rep.Elapsed, rep.Cycles, rep.Summary())
				}
				if strings.HasPrefix(rep.Failure, "infrastructure error") {
					t.Fatalf("not a detection: %s", rep.Failure)
				}
				assert2min(t, rep)
				t.Logf("fault %s (seed %d) detected after %v (%s): %s", f.Name, seed, rep.Detected.Round(time.Millisecond), report.AfterReset(rep.FailedAt), firstLines(rep.Failure, 4))
				t.Log(rep.Summary())
			})
		}
	}
}

// assert2min logs whether the detection came within the 2-minute goal;
// a busy host may take longer, which is no verdict on the harness (tests
// never fail for being slow), so it is reported, not asserted.
func assert2min(t *testing.T, rep *report.Report) {
	t.Helper()
	if rep.Detected > 2*time.Minute {
		t.Logf("detected after %v: past the 2-minute goal (host load?)", rep.Detected.Round(time.Second))
	}
}
