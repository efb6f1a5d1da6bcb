package checker

import (
	"slices"
	"sort"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckRemotes checks the remotes workload (Dolt):
//   - every key whose push was acknowledged is in the remote's main;
//   - no key is in the remote that no push carried;
//   - an acknowledged clone exists, a failed one does not; a clone that
//     exists is complete: its table reads, and holds every key whose push
//     was acknowledged before the clone (or an acknowledged pull into it)
//     began, and no key that no push carried;
//   - the remotes are what was acknowledged: an added remote is there
//     unless its removal may have happened, a removed one is gone, a
//     failed addition is absent.
func CheckRemotes(h history.History, workload string, st model.RemotesState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.RemotesValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	for _, op := range ops {
		if op.Process == history.SetupProcess && op.Type == history.OK && st.Missing {
			b.problem("missing-database", "the remotes database is gone, but its setup was acknowledged: %s", b.ctx.Op(op))
			return b.res
		}
	}
	if st.Missing {
		return b.res
	}
	remote := map[int64]bool{}
	for _, k := range st.Remote {
		remote[k] = true
	}
	pushed := map[int64]bool{} // every key a push carried
	// need is what a clone must hold: per clone, the invoke index of its
	// latest acknowledged clone or pull.
	need := map[string]int64{}
	type remoteOps struct{ add, remove *history.Op }
	extras := map[string]*remoteOps{}
	clones := map[string]*history.Op{}
	for i := range ops {
		op, v := &ops[i], vals[i]
		if op.Process == history.SetupProcess {
			continue
		}
		b.res.Stats[op.F+"-"+string(op.Type)]++
		switch op.F {
		case model.FPush:
			pushed[v.K] = true
			t, _ := b.outcome(op, remote[v.K], true)
			if t == history.OK && !remote[v.K] {
				b.problem("lost", "key %d is not in the remote, but its push was acknowledged: %s", v.K, b.ctx.Op(*op))
			}
		case model.FClone:
			clones[v.Clone] = op
			_, present := st.Clones[v.Clone]
			_, broken := st.Broken[v.Clone]
			t, _ := b.outcome(op, present || broken, true)
			switch {
			case t == history.OK && !present && !broken:
				b.problem("lost-clone", "clone %s is gone, but dolt_clone was acknowledged: %s", v.Clone, b.ctx.Op(*op))
			case t == history.Fail && (present || broken):
				b.problem("unexpected-clone", "clone %s exists, but dolt_clone failed: %s", v.Clone, b.ctx.Op(*op))
			}
			if t == history.OK {
				need[v.Clone] = max(need[v.Clone], op.Invoke.Index)
			}
		case model.FPull:
			if op.Type == history.OK {
				need[v.Clone] = max(need[v.Clone], op.Invoke.Index)
			}
		case model.FRemoteAdd, model.FRemoteRemove:
			r := extras[v.Remote]
			if r == nil {
				r = &remoteOps{}
				extras[v.Remote] = r
			}
			if op.F == model.FRemoteAdd {
				r.add = op
			} else {
				r.remove = op
			}
		}
	}
	for _, k := range st.Remote {
		if !pushed[k] {
			b.problem("unexpected", "key %d is in the remote, but no push carried it", k)
		}
	}
	b.res.Stats["remote-keys"] = len(st.Remote)
	b.res.Stats["clones-present"] = len(st.Clones)

	// Keys each clone must hold: pushes acknowledged before its clone or
	// its latest acknowledged pull began.
	for _, name := range sortedStrings(clones) {
		if why, ok := st.Broken[name]; ok {
			b.problem("incomplete-clone", "clone %s exists but its table cannot be read (%s): %s", name, why, b.ctx.Op(*clones[name]))
			continue
		}
		keys, present := st.Clones[name]
		if !present {
			continue
		}
		have := map[int64]bool{}
		for _, k := range keys {
			have[k] = true
			if !pushed[k] {
				b.problem("unexpected", "clone %s holds key %d, which no push carried", name, k)
			}
		}
		before, ok := need[name]
		if !ok {
			continue // an unknown clone with no acknowledged pull: any complete state
		}
		for i := range ops {
			op, v := &ops[i], vals[i]
			if op.F != model.FPush || op.Type != history.OK || op.Complete == nil || op.Complete.Index > before {
				continue
			}
			if !have[v.K] {
				b.problem("incomplete-clone", "clone %s lacks key %d, whose push was acknowledged before the clone's latest acknowledged clone or pull (op #%d) began: %s", name, v.K, before, b.ctx.Op(*op))
			}
		}
	}
	for name := range st.Clones {
		if clones[name] == nil {
			b.problem("unexpected-clone", "clone %s exists, but no dolt_clone made it", name)
		}
	}

	present := map[string]bool{}
	for _, n := range st.Remotes {
		present[n] = true
		if extras[n] == nil || extras[n].add == nil {
			b.problem("unexpected-remote", "remote %s exists, but it was never added", n)
		}
	}
	for _, name := range sortedStrings(extras) {
		r := extras[name]
		if r.add == nil {
			continue
		}
		addT, _ := b.outcome(r.add, present[name], r.remove == nil)
		switch {
		case r.remove != nil && r.remove.Type == history.OK && present[name]:
			b.problem("resurrected", "remote %s exists, but its removal was acknowledged: %s", name, b.ctx.Op(*r.remove))
		case addT == history.Fail && present[name]:
			b.problem("unexpected-remote", "remote %s exists, but adding it failed: %s", name, b.ctx.Op(*r.add))
		case addT == history.OK && !present[name] && (r.remove == nil || r.remove.Type == history.Fail):
			b.problem("lost-remote", "remote %s is gone, but adding it was acknowledged and it was never removed: %s", name, b.ctx.Op(*r.add))
		}
	}
	return b.res
}

func sortedStrings[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
