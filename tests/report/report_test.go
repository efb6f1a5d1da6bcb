package report

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
)

// Under a failure the summary shows the failing check once and no ok of
// another (possibly stale) check; an inconclusive run says it is not a
// finding.
func TestSummaryByVerdict(t *testing.T) {
	bad := checker.Result{Workload: "ddl", Problems: []checker.Problem{{Kind: "lost", Message: "table ddl_t1 is absent"}}}
	good := checker.Result{Workload: "set"}
	failed := &Report{Failure: "checker found problems after reset #2: ddl", FailedAt: 2, Results: []checker.Result{good, bad}}
	s := failed.Summary()
	if failed.Verdict() != Failed || strings.Count(s, "table ddl_t1 is absent") != 1 || strings.Contains(s, "set: ok") || !strings.Contains(s, "FAILED after 0s (after reset #2)") {
		t.Errorf("failed run (%s):\n%s", failed.Verdict(), s)
	}
	// The server did not recover: the last check's results are stale.
	notRecovered := &Report{Failure: "reset #3: server did not recover", FailedAt: 3, Results: []checker.Result{good}}
	if s := notRecovered.Summary(); strings.Contains(s, "set: ok") {
		t.Errorf("stale ok under FAILED:\n%s", s)
	}
	slow := &Report{Inconclusive: "infrastructure too slow: ...", Results: []checker.Result{good}}
	if s := slow.Summary(); slow.Verdict() != Inconclusive || slow.Failed() || !strings.Contains(s, "INCONCLUSIVE (not a durability finding)") || !strings.Contains(s, "set: ok") {
		t.Errorf("inconclusive run (%s):\n%s", slow.Verdict(), s)
	}
	if (&Report{Results: []checker.Result{good}}).Verdict() != Passed {
		t.Error("a run without failure or shortfall must pass")
	}
}

// A run directory written before the model/report split (by commit
// 23ae87b) re-checks to the verdict its live run recorded.
func TestRecheckOldRunDir(t *testing.T) {
	const dir = "testdata/run-before-model-split"
	got, err := Recheck(dir)
	if err != nil {
		t.Fatal(err)
	}
	live, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Results) != 5 || !reflect.DeepEqual(got, live.Results) {
		t.Fatalf("re-check:\n%+v\nlive run:\n%+v", got, live.Results)
	}
}

// Every injected I/O fault is in the summary, and a failure names the
// last fault before it.
func TestSummaryListsIOFaults(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rep := &Report{Failure: "checker found problems after reset #2: set", FailedAt: 2, Faults: []FaultEvent{
		{Cycle: 1, Kind: "slow", Detail: "every I/O delayed 50 ms", Started: t0, Ended: t0.Add(time.Second), EndedBy: "clear", Recovered: 9 * time.Second},
		{Cycle: 2, Kind: "write-error", Target: "free", Started: t0.Add(5 * time.Second), Ended: t0.Add(7 * time.Second), EndedBy: "crash"},
		{Cycle: 3, Kind: "disk-full", Started: t0.Add(20 * time.Second)},
	}}
	s := rep.Summary()
	for _, want := range []string{
		"3 I/O faults:",
		"cycle 1: slow (every I/O delayed 50 ms) for 1s, ended by clear; writes again after 9s",
		"cycle 2: write-error on free for 2s, ended by crash",
		"the last I/O fault before it: cycle 2: write-error on free",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
