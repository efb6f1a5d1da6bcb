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

// ApplyCuts returns h as the checkers must judge it after power cuts, each
// of which rebuilt the disk as of a cut point in its log generation:
//
//   - an op invoked at or after the cut point never happened for that
//     state: its writes were logged at or after the position read when it
//     was invoked. It is left out (invoke and completion), as is whatever
//     it read: a later read or step of the same client is after the cut
//     too, so no checker sees a sequence with a hole;
//   - an op invoked before the cut and acknowledged after it was in flight
//     at the cut (Info): the ack's position is read right after the ack,
//     at or after the flush behind it, so a cut at or after it holds the
//     op, and one before it may or may not. An ack whose position was read
//     in a later generation than its invoke (the power was cut in between)
//     counts as after the cut;
//   - a check's resolutions (FResolve) whose position is after the cut of
//     their generation are left out: that check observed writes logged
//     after the cut (e.g. a sampled state cut early in the generation in
//     which the check ran).
//
// Ops without positions, or in a generation no power cut ended yet, stay
// as they are. h itself is not changed.
func (h History) ApplyCuts() History {
	cuts := h.Cuts()
	if len(cuts) == 0 {
		return h
	}
	invokePos := map[int64]*LogPos{}
	dropped := map[int64]bool{}
	out := make(History, 0, len(h))
	for _, e := range h {
		if e.Process == CheckerProcess && e.F == FResolve && e.Pos != nil {
			// A check that observed the database after its generation's
			// cut saw writes the cut state may not have: what it resolved
			// does not bind that state.
			if cut, ok := cuts[e.Pos.Gen]; ok && e.Pos.Entries > cut {
				continue
			}
		}
		if e.Process < 0 {
			out = append(out, e)
			continue
		}
		if e.Type == Invoke {
			if e.Pos != nil {
				invokePos[e.Index] = e.Pos
				if cut, ok := cuts[e.Pos.Gen]; ok && e.Pos.Entries >= cut {
					dropped[e.Index] = true
					continue
				}
			}
			out = append(out, e)
			continue
		}
		if dropped[e.Invoke] {
			continue
		}
		if e.Type != OK || e.Pos == nil {
			out = append(out, e)
			continue
		}
		gen, at, late := e.Pos.Gen, e.Pos.Entries, false
		if ip := invokePos[e.Invoke]; ip != nil && ip.Gen != gen {
			gen, late = ip.Gen, true
		}
		if cut, ok := cuts[gen]; ok && (late || at > cut) {
			e.Type = Info
			if late {
				e.Error = fmt.Sprintf("acknowledged in write-log generation %d, position read after the power cut: in flight at the cut (position %d)", gen, cut)
			} else {
				e.Error = fmt.Sprintf("acknowledged at write-log position %d of generation %d, after the power cut's cut point %d: in flight at the cut", at, gen, cut)
			}
		}
		out = append(out, e)
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
