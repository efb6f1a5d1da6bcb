package report

import (
	"reflect"
	"strings"
	"testing"

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
