package harness

import (
	"errors"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/tests/history"
)

func TestIdleWorkloadsNamesAWorkloadThatNeverSucceeded(t *testing.T) {
	rec := history.NewRecorder(nil)
	rec.Invoke(history.SetupProcess, "gc", "create-table", nil).Complete(history.OK, nil, nil)
	for i := range idleAttempts {
		rec.Invoke(0, "gc", "gc", nil).Complete(history.Info, nil, errors.New("Error 1105 (HY000): Empty database name."))
		rec.Invoke(1, "set", "add", i).Complete(history.OK, nil, nil)
	}
	got := idleWorkloads(rec.Entries())
	if !strings.Contains(got, "gc acknowledged none of its 8 operations") || !strings.Contains(got, "Empty database name") || strings.Contains(got, "set ") {
		t.Fatalf("idleWorkloads = %q", got)
	}
}

func TestIdleWorkloadsLeavesShortAndWorkingRunsAlone(t *testing.T) {
	rec := history.NewRecorder(nil)
	for range idleAttempts - 1 {
		rec.Invoke(0, "gc", "gc", nil).Complete(history.Info, nil, errors.New("connection refused"))
	}
	for range 3 * idleAttempts {
		rec.Invoke(1, "set", "add", nil).Complete(history.Fail, nil, errors.New("duplicate"))
	}
	rec.Invoke(1, "set", "add", nil).Complete(history.OK, nil, nil)
	if got := idleWorkloads(rec.Entries()); got != "" {
		t.Fatalf("idleWorkloads = %q, want none", got)
	}
}
