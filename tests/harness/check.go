package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
)

// check snapshots every workload's state (clients are stopped), saves it
// as state.json and checks it. cycle is the last reset done; final marks
// the check at the end of the run.
func (r *run) check(ctx context.Context, cycle int, final bool) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	when := report.AfterReset(cycle)
	if final {
		when = "at the end of the run (" + when + ")"
	}
	sf := report.Snapshot{HistoryIndex: r.rec.Len(), Cycle: cycle, Taken: time.Now().UTC(), Flavor: r.d.Options.Flavor, States: map[string]json.RawMessage{}}
	if final {
		sf.Cycle = 0 // state.json's marker of the final check
	}
	for _, w := range r.d.Workloads {
		sf.Workloads = append(sf.Workloads, w.Name())
		st, err := w.Snapshot(cctx, r.db)
		if err != nil {
			// The server answered the nemesis but cannot serve the tables:
			// that is a finding about recovery, not an infrastructure error.
			r.fail(cycle, fmt.Sprintf("%s, reading the %s state failed: %s", when, w.Name(), history.Truncate(err.Error())))
			return false, nil
		}
		sf.States[w.Name()] = st
	}
	if err := sf.Write(r.dir); err != nil {
		return false, err
	}
	results := sf.Check(r.rec.Entries().Before(sf.HistoryIndex))
	r.rep.Results = results
	if _, err := report.WriteExplanations(cctx, r.dir, results); err != nil {
		return false, err
	}
	var bad []string
	for _, res := range results {
		if !res.OK() {
			bad = append(bad, res.Workload)
		}
		if len(res.Resolved) > 0 {
			r.rec.Log(history.CheckerProcess, res.Workload, history.FResolve, res.Resolved)
		}
	}
	r.rec.Log(history.CheckerProcess, "", history.FCheck, map[string]any{"cycle": sf.Cycle, "ok": len(bad) == 0, "history_index": sf.HistoryIndex})
	if len(bad) > 0 {
		// The problems themselves are in the results (Summary lists them).
		r.fail(cycle, fmt.Sprintf("checker found problems %s: %s", when, strings.Join(bad, ", ")))
		return false, nil
	}
	return true, nil
}

// fail records the run's first finding, made after reset cycle.
func (r *run) fail(cycle int, msg string) {
	if r.rep.Failure != "" {
		return
	}
	r.rep.Failure, r.rep.FailedAt, r.rep.Detected = msg, cycle, time.Since(r.rep.Started)
}
