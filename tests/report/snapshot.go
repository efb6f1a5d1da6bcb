package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// Snapshot is state.json: the last state snapshot, with what is needed to
// re-check it offline against history.jsonl.
type Snapshot struct {
	// HistoryIndex: the snapshot was taken after entries [0, HistoryIndex)
	// and before any later one.
	HistoryIndex int64 `json:"history_index"`
	// Cycle is the reset the snapshot follows (0: the final check).
	Cycle     int                        `json:"cycle"`
	Taken     time.Time                  `json:"taken"`
	Flavor    model.Flavor               `json:"flavor"`
	Workloads []string                   `json:"workloads"`
	States    map[string]json.RawMessage `json:"states"`
}

// Write saves s as dir/state.json.
func (s *Snapshot) Write(dir string) error {
	return WriteJSONAtomic(filepath.Join(dir, StateFile), s)
}

// Check runs every snapshotted workload's checker over h, which must end
// where the snapshot was taken. Acks after a power cut's cut point count as
// in flight (history.ApplyCuts).
func (s *Snapshot) Check(h history.History) []checker.Result {
	h = h.ApplyCuts()
	out := make([]checker.Result, 0, len(s.Workloads))
	for _, name := range s.Workloads {
		out = append(out, checker.Check(h, name, s.States[name]))
	}
	return out
}

// Recheck re-runs the checkers over a saved run directory (history.jsonl +
// state.json): no server and no traffic generator needed.
func Recheck(dir string) ([]checker.Result, error) {
	h, _, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		return nil, err
	}
	// A run that failed on a sampled power-cut state stopped there.
	if sample, ok, err := recheckSample(dir, h); ok || err != nil {
		return sample, err
	}
	// A torn last history line (the test binary died mid-write) is after
	// the snapshot index anyway.
	var s Snapshot
	if err := readJSON(filepath.Join(dir, StateFile), &s); err != nil {
		return nil, err
	}
	if n := int64(len(h.Before(s.HistoryIndex))); n < s.HistoryIndex {
		return nil, fmt.Errorf("history has %d entries, but the state was taken after %d", n, s.HistoryIndex)
	}
	return s.Check(h.Before(s.HistoryIndex)), nil
}

// SampleStateFile is a sampled power-cut state's snapshot, saved when it
// failed its check (the run stopped there, so it is the run's verdict).
const SampleStateFile = "sample-state.json"

// recheckSample re-checks a failed sampled state (ok: there was one): its
// snapshot against the history before its check entry, cut at its cut
// point in the crash it sampled.
func recheckSample(dir string, h history.History) ([]checker.Result, bool, error) {
	var s Snapshot
	if err := readJSON(filepath.Join(dir, SampleStateFile), &s); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, true, err
	}
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		var v struct {
			Cut *history.LogPos `json:"sample_cut"`
			OK  bool            `json:"ok"`
		}
		if e.Process != history.CheckerProcess || e.F != history.FCheck || json.Unmarshal(e.Value, &v) != nil || v.Cut == nil || v.OK {
			continue
		}
		before := h.Before(e.Index)
		for j := len(before) - 1; j >= 0; j-- {
			if c := before[j]; c.Process == history.NemesisProcess && c.F == history.FCrash && c.Type == history.Invoke {
				hc, err := before.AtCut(c.Index, *v.Cut)
				if err != nil {
					return nil, true, err
				}
				return s.Check(hc), true, nil
			}
		}
		return nil, true, fmt.Errorf("%s: no crash before the failed sample check (history entry %d)", SampleStateFile, e.Index)
	}
	return nil, true, fmt.Errorf("%s: the history has no failed sample check", SampleStateFile)
}
