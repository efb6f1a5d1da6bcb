package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
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
			r.rec.LogObserved(history.CheckerProcess, res.Workload, history.FResolve, res.Resolved)
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

// errSampleFailed ends a crash whose sampled state failed its check (the
// finding is recorded by then).
var errSampleFailed = errors.New("a sampled crash state failed its check")

// checkSample checks an extra crash state of the power cut of crash cycle
// (invoked at history index crashInvoke): its snapshot against the history
// so far, as if that crash had ended at the sample's cut point. It records
// no resolutions: the state is thrown away.
func (r *run) checkSample(ctx context.Context, cycle int, crashInvoke int64, st SampledState) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	where := fmt.Sprintf("in a sampled crash state of power cut #%d (write-log position %d of generation %d)", cycle, st.Cut.Entries, st.Cut.Gen)
	db, err := openDB(st.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	h := r.rec.Entries()
	sf := report.Snapshot{HistoryIndex: int64(len(h)) + 1, Cycle: cycle, Taken: time.Now().UTC(), Flavor: r.d.Options.Flavor, States: map[string]json.RawMessage{}}
	for _, w := range r.d.Workloads {
		sf.Workloads = append(sf.Workloads, w.Name())
		s, err := w.Snapshot(cctx, db)
		if err != nil {
			r.fail(cycle, fmt.Sprintf("%s, reading the %s state failed: %s", where, w.Name(), history.Truncate(err.Error())))
			return errSampleFailed
		}
		sf.States[w.Name()] = s
	}
	hs, err := h.AtCut(crashInvoke, st.Cut)
	if err != nil {
		return err
	}
	results := sf.Check(hs)
	var bad []string
	for _, res := range results {
		if !res.OK() {
			bad = append(bad, res.Workload)
		}
	}
	r.rec.Log(history.CheckerProcess, "", history.FCheck, map[string]any{"cycle": cycle, "sample_cut": st.Cut, "choices": st.Choices, "ok": len(bad) == 0})
	r.rep.ExtraStatesChecked++
	if len(bad) == 0 {
		return nil
	}
	r.rep.Results = results
	if err := report.WriteJSONAtomic(filepath.Join(r.dir, report.SampleStateFile), sf); err != nil {
		r.d.Logf("save %s: %v", report.SampleStateFile, err)
	}
	if _, err := report.WriteExplanations(cctx, r.dir, results); err != nil {
		r.d.Logf("write explanations: %v", err)
	}
	r.fail(cycle, fmt.Sprintf("checker found problems %s: %s", where, strings.Join(bad, ", ")))
	return errSampleFailed
}
