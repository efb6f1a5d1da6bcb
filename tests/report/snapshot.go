package report

import (
	"encoding/json"
	"fmt"
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
