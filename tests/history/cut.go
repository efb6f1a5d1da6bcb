package history

import (
	"encoding/json"
	"fmt"
	"time"
)

// LogPos is a position in the data disk's write log on the host (the
// powercut nemesis): Entries entries of log generation Gen, the QEMU that
// ran between two power cuts.
type LogPos struct {
	Gen     int    `json:"gen"`
	Entries uint64 `json:"entries"`
}

// crashCut is the part of a crash completion's value ApplyCuts reads: the
// cut point of a power cut (report.CrashReport.Cut).
type crashCut struct {
	Cut *LogPos `json:"cut"`
}

// Cuts lists the power cuts' cut points by log generation.
func (h History) Cuts() map[int]uint64 {
	cuts := map[int]uint64{}
	for _, e := range h {
		if e.Process != NemesisProcess || e.F != FCrash || e.Type == Invoke {
			continue
		}
		var v crashCut
		if json.Unmarshal(e.Value, &v) == nil && v.Cut != nil {
			cuts[v.Cut.Gen] = v.Cut.Entries
		}
	}
	return cuts
}

// ApplyCuts returns h as the checkers must judge it after power cuts: an
// op acknowledged after the cut point of the power cut that ended its log
// generation was in flight at that cut (Info), since the disk state was
// built as of a moment before its flush. The ack's position is read right
// after the ack, so it is at or after the flush behind the ack: a cut at or
// after it holds the op. An ack whose position was read in a later
// generation than its invoke (the power was cut in between) counts as
// after the cut. Acks without a position, or in a generation no power cut
// ended yet, stay as they are. h itself is not changed.
func (h History) ApplyCuts() History {
	cuts := h.Cuts()
	if len(cuts) == 0 {
		return h
	}
	invokePos := map[int64]*LogPos{}
	out := make(History, len(h))
	copy(out, h)
	for i := range out {
		e := &out[i]
		if e.Process < 0 || e.Pos == nil {
			continue
		}
		if e.Type == Invoke {
			invokePos[e.Index] = e.Pos
			continue
		}
		if e.Type != OK {
			continue
		}
		gen, at, late := e.Pos.Gen, e.Pos.Entries, false
		if ip := invokePos[e.Invoke]; ip != nil && ip.Gen != gen {
			gen, late = ip.Gen, true
		}
		cut, ok := cuts[gen]
		if !ok || (!late && at <= cut) {
			continue
		}
		e.Type = Info
		if late {
			e.Error = fmt.Sprintf("acknowledged in write-log generation %d, position read after the power cut: in flight at the cut (position %d)", gen, cut)
		} else {
			e.Error = fmt.Sprintf("acknowledged at write-log position %d of generation %d, after the power cut's cut point %d: in flight at the cut", at, gen, cut)
		}
	}
	return out
}

// AtCut is h as a check of a crash state cut at cut sees it (a sampled
// extra state, or a replay): the entries before the completion of the
// crash invoked at crashInvoke (all of h while that crash runs), then that
// crash ending at cut, so that ApplyCuts counts acks after cut as in
// flight.
func (h History) AtCut(crashInvoke int64, cut LogPos) (History, error) {
	end := len(h)
	for i, e := range h {
		if e.Type != Invoke && e.Process == NemesisProcess && e.Invoke == crashInvoke && e.F == FCrash {
			end = i
			break
		}
	}
	v, err := json.Marshal(crashCut{Cut: &cut})
	if err != nil {
		return nil, fmt.Errorf("history at cut: %w", err)
	}
	var next int64
	if len(h) > 0 {
		next = h[len(h)-1].Index + 1
	}
	return append(h[:end:end], Entry{Index: next, Type: OK, Process: NemesisProcess,
		Time: time.Now().UTC(), F: FCrash, Invoke: crashInvoke, Value: v}), nil
}
