package reporthtml

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// synthetic is a generated run: a report and its history.
type synthetic struct {
	rep *report.Report
	h   history.History
	// violating is the invoke index of the op the failing check names
	// (-1 for a passing run).
	violating int64
}

// synth generates a run of about entries history entries: clients spread
// over the workloads, one op in flight per client, a crash every
// crashEvery ops (all ops in flight through a crash end info), a check
// after every crash. With fail set, the set check reports an acknowledged
// insert from the middle of the run lost in the crash after it.
func synth(entries, crashEvery int, fail bool) synthetic {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var h history.History
	now := t0
	add := func(e history.Entry) int64 {
		e.Index, e.Time = int64(len(h)), now
		h = append(h, e)
		return e.Index
	}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	for _, w := range model.Workloads {
		inv := add(history.Entry{Type: history.Invoke, Process: history.SetupProcess, Workload: w, F: "create-table"})
		now = now.Add(2 * time.Millisecond)
		add(history.Entry{Type: history.OK, Process: history.SetupProcess, Workload: w, F: "create-table", Invoke: inv})
	}
	const clients = 12
	rep := &report.Report{Test: "TestCrash/ext4-ordered", Seed: 42, Started: t0, MinCycles: 3, Ops: map[string]int{},
		Config: map[string]any{"flags": []string{"-crash.target=bundled", "-crash.fs=ext4-ordered,xfs", "-crash.backend=vm"}},
		Repro:  "go test ./tests -count=1 -v -run '^TestCrash$/^ext4-ordered$' -crash.seed=42"}
	s := synthetic{rep: rep, violating: -1}
	ops, cycle := 0, 0
	var lostAt int64 = -1
	for len(h) < entries {
		if ops > 0 && ops%crashEvery == 0 {
			cycle++
			inv := add(history.Entry{Type: history.Invoke, Process: history.NemesisProcess, F: history.FCrash, Value: raw(map[string]int{"cycle": cycle})})
			cr := report.CrashReport{Requested: now, Down: 5 * time.Millisecond, AgentBack: time.Duration(3+rng.IntN(3)) * time.Second,
				Ready: time.Duration(5+rng.IntN(4)) * time.Second, ServerRecovery: time.Duration(rng.IntN(900)) * time.Millisecond, RecoveryReported: true}
			// Every client's op in flight ends unknown.
			for c := range clients {
				now = now.Add(time.Millisecond)
				ci := add(history.Entry{Type: history.Invoke, Process: c, Workload: workloadOf(c), F: "op", Value: raw(map[string]int{"n": ops})})
				now = now.Add(100 * time.Millisecond)
				add(history.Entry{Type: history.Info, Process: c, Workload: workloadOf(c), F: "op", Invoke: ci, Error: "invalid connection"})
				ops++
			}
			now = cr.Requested.Add(cr.Ready)
			rep.Recoveries = append(rep.Recoveries, cr)
			add(history.Entry{Type: history.OK, Process: history.NemesisProcess, F: history.FCrash, Value: raw(cr), Invoke: inv})
			now = now.Add(30 * time.Millisecond)
			add(history.Entry{Type: history.Info, Process: history.CheckerProcess, F: history.FCheck,
				Value: raw(map[string]any{"cycle": cycle, "ok": !(fail && lostAt >= 0 && s.violating < 0), "history_index": len(h)})})
			if fail && lostAt >= 0 && s.violating < 0 {
				s.violating, rep.FailedAt = lostAt, cycle
			}
			continue
		}
		c := ops % clients
		now = now.Add(time.Duration(1+rng.IntN(40)) * time.Millisecond)
		w := workloadOf(c)
		inv := add(history.Entry{Type: history.Invoke, Process: c, Workload: w, F: "add", Value: raw(map[string]int64{"k": model.ClientID(c, int64(ops))})})
		now = now.Add(time.Duration(500+rng.IntN(8000)) * time.Microsecond)
		t := history.OK
		switch r := rng.IntN(100); {
		case r < 2:
			t = history.Fail
		case r < 3:
			t = history.Info
		}
		add(history.Entry{Type: t, Process: c, Workload: w, F: "add", Invoke: inv})
		if fail && lostAt < 0 && w == model.Set && t == history.OK && len(h) > entries/2 {
			lostAt = inv
		}
		ops++
	}
	for _, e := range h {
		if e.Process >= 0 {
			rep.Ops[string(e.Type)]++
		}
	}
	rep.Cycles, rep.Elapsed = cycle, now.Sub(t0)
	for _, w := range model.Workloads {
		rep.Results = append(rep.Results, checker.Result{Workload: w, Stats: map[string]int{"add-ok": ops / len(model.Workloads)}})
	}
	if fail {
		rep.Failure = fmt.Sprintf("checker found problems %s: set", report.AfterReset(rep.FailedAt))
		rep.Detected = rep.Elapsed
		rep.Results[0].Problems = []checker.Problem{{Kind: "lost", Message: fmt.Sprintf("key 1 is missing, but its insert was acknowledged: op #%d (client 0, add {}, ...)", s.violating)}}
	}
	s.h = h
	return s
}

func workloadOf(client int) string { return model.Workloads[client%len(model.Workloads)] }
