package checker

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// Micro-op shorthands for hand-made append histories.
func ap(k, v int64) model.MicroOp { return model.MicroOp{F: model.MicroAppend, K: k, V: v} }
func rd(k int64, list ...int64) model.MicroOp {
	if list == nil {
		list = []int64{}
	}
	return model.MicroOp{F: model.MicroRead, K: k, List: list, Read: true}
}

// atx is one transaction of a hand-made history.
type atx struct {
	proc int
	t    history.Type
	ops  []model.MicroOp
}

// appendHistory records txns. concurrent: all are invoked before any
// completes (no real-time order between them); else each completes before
// the next is invoked.
func appendHistory(concurrent bool, txns ...atx) history.History {
	rec := history.NewRecorder(nil)
	rec.Invoke(history.SetupProcess, model.Append, model.FSetupTable, nil).OK(nil)
	invoke := func(x atx) *history.Pending {
		inv := make([]model.MicroOp, len(x.ops))
		for i, m := range x.ops {
			inv[i] = model.MicroOp{F: m.F, K: m.K, V: m.V}
		}
		return rec.Invoke(x.proc, model.Append, model.FTxn, inv)
	}
	complete := func(p *history.Pending, x atx) {
		switch x.t {
		case history.OK:
			p.Complete(history.OK, x.ops, nil)
		case history.Fail:
			p.Fail(errors.New("Error 1213: deadlock"))
		case history.Info:
			p.Info(errors.New("invalid connection"))
		}
	}
	if concurrent {
		ps := make([]*history.Pending, len(txns))
		for i, x := range txns {
			ps[i] = invoke(x)
		}
		for i, x := range txns {
			complete(ps[i], x)
		}
	} else {
		for _, x := range txns {
			complete(invoke(x), x)
		}
	}
	rec.Invoke(history.NemesisProcess, "", history.FCrash, nil).OK(nil)
	return rec.Entries()
}

func appendState(lists map[int64][]int64) model.AppendState {
	return model.AppendState{Isolation: "serializable", Lists: lists}
}

// expectAnomaly asserts res has exactly one problem, of class want, whose
// message contains sub, and an explanation file for it.
func expectAnomaly(t *testing.T, res Result, want model.Anomaly, sub string) {
	t.Helper()
	if len(res.Problems) != 1 || res.Problems[0].Kind != string(want) || !strings.Contains(res.Problems[0].Message, sub) {
		t.Fatalf("want exactly one %s problem mentioning %q; got:\n%s", want, sub, res.Summary())
	}
	name := "append-001-" + string(want)
	if len(res.Files[name+".txt"]) == 0 {
		t.Errorf("no explanation %s.txt; files: %v", name, fileNames(res))
	}
	if strings.HasPrefix(sub, "cycle") && !strings.Contains(string(res.Files[name+".dot"]), "digraph") {
		t.Errorf("no graph %s.dot; files: %v", name, fileNames(res))
	}
}

func fileNames(res Result) []string {
	var out []string
	for n := range res.Files {
		out = append(out, n)
	}
	return out
}

func TestCheckAppendCleanHistories(t *testing.T) {
	for name, tc := range map[string]struct {
		h     history.History
		state map[int64][]int64
	}{
		"serial": {appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11), ap(2, 21)}},
			atx{2, ok, []model.MicroOp{rd(1, 11), ap(1, 12), rd(1, 11, 12)}},
			atx{1, ok, []model.MicroOp{rd(2, 21), rd(1, 11, 12), ap(2, 22)}},
			atx{3, fail, []model.MicroOp{ap(1, 13)}},
			atx{3, ok, []model.MicroOp{rd(3)}},
		), map[int64][]int64{1: {11, 12}, 2: {21, 22}}},
		"concurrent": {appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11), ap(1, 12)}},
			atx{3, ok, []model.MicroOp{rd(1)}},
		), map[int64][]int64{1: {11, 12}}},
		// An info transaction whose append was read committed; one never
		// seen did not, and is not lost.
		"info decided by reads": {appendHistory(false,
			atx{1, info, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11)}},
			atx{1, info, []model.MicroOp{ap(1, 12)}},
		), map[int64][]int64{1: {11}}},
	} {
		t.Run(name, func(t *testing.T) {
			res := CheckAppend(tc.h, model.Append, appendState(tc.state))
			if !res.OK() {
				t.Fatalf("want no problems:\n%s", res.Summary())
			}
			if res.AckedWrites() == 0 {
				t.Fatalf("no acknowledged writes counted: %v", res.Stats)
			}
		})
	}
	res := CheckAppend(appendHistory(false,
		atx{1, info, []model.MicroOp{ap(1, 11)}},
		atx{2, ok, []model.MicroOp{rd(1, 11)}},
		atx{1, info, []model.MicroOp{ap(1, 12)}},
	), model.Append, appendState(map[int64][]int64{1: {11}}))
	if res.Stats["txn-info-committed"] != 1 {
		t.Errorf("want one info transaction decided committed: %v", res.Stats)
	}
}

// Each anomaly class, from the smallest history that shows it; cycles are
// named from the lowest transaction (T0 is the first committed one).
func TestCheckAppendAnomalies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     history.History
		state map[int64][]int64
		class model.Anomaly
		sub   string
	}{
		{"G0", appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11), ap(2, 21)}},
			atx{2, ok, []model.MicroOp{ap(1, 12), ap(2, 22)}},
		), map[int64][]int64{1: {11, 12}, 2: {22, 21}}, model.G0, "cycle T0 -> T1 -> T0 over ww, ww edges"},
		{"G1c", appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11), rd(2, 21)}},
			atx{2, ok, []model.MicroOp{ap(2, 21), rd(1, 11)}},
		), map[int64][]int64{1: {11}, 2: {21}}, model.G1c, "cycle T0 -> T1 -> T0 over wr, wr edges"},
		{"G-single", appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11), ap(2, 21)}},
			atx{2, ok, []model.MicroOp{rd(1), rd(2, 21)}},
		), map[int64][]int64{1: {11}, 2: {21}}, model.GSingle, "cycle T0 -> T1 -> T0 over wr, rw edges"},
		{"G2-item", appendHistory(true,
			atx{1, ok, []model.MicroOp{rd(1), ap(2, 21)}},
			atx{2, ok, []model.MicroOp{rd(2), ap(1, 11)}},
		), map[int64][]int64{1: {11}, 2: {21}}, model.G2Item, "cycle T0 -> T1 -> T0 over rw, rw edges"},
		{"G1a", appendHistory(true,
			atx{1, fail, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11)}},
		), map[int64][]int64{1: {}}, model.G1a, "read key 1 = [11], with value 11 appended by a transaction that failed"},
		{"G1b", appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11), ap(1, 12)}},
			atx{2, ok, []model.MicroOp{rd(1, 11)}},
		), map[int64][]int64{1: {11, 12}}, model.G1b, "ending in 11, an intermediate value"},
		{"internal", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11), ap(1, 12), rd(1, 11)}},
		), map[int64][]int64{1: {11, 12}}, model.Internal, "read key 1 = [11], but its own earlier reads and appends of key 1 say [11 12]"},
		{"duplicate-append", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11, 11)}},
		), map[int64][]int64{1: {11}}, model.DuplicateAppend, "value 11 twice"},
		{"garbage-read", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11, 99)}},
		), map[int64][]int64{1: {11}}, model.GarbageRead, "no transaction appended 99 to key 1"},
		{"incompatible-order", appendHistory(true,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{ap(1, 12)}},
			atx{3, ok, []model.MicroOp{rd(1, 12, 11)}},
		), map[int64][]int64{1: {11, 12}}, model.IncompatibleOrder, "read key 1 = [12 11], which is not a prefix of [11 12]"},
		{"lost-append", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{1, ok, []model.MicroOp{ap(1, 12)}},
		), map[int64][]int64{1: {11}}, model.LostAppend, "key 1 = [11] after the run lacks 12, whose append was acknowledged"},
		// Observed, then gone: an info append read by a transaction must
		// stay.
		{"lost observed append", appendHistory(false,
			atx{1, info, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1, 11)}},
		), map[int64][]int64{1: {}}, model.LostAppend, "lacks 11, whose append had an unknown outcome, but was read"},
		// Client 1 does not see its own acknowledged append in its next
		// transaction.
		{"G-single-process", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{1, ok, []model.MicroOp{rd(1)}},
		), map[int64][]int64{1: {11}}, model.GSingle + model.SuffixProcess, "cycle T0 -> T1 -> T0 over process, rw edges"},
		// A stale read: client 2 starts after client 1's append was
		// acknowledged and misses it.
		{"G-single-realtime", appendHistory(false,
			atx{1, ok, []model.MicroOp{ap(1, 11)}},
			atx{2, ok, []model.MicroOp{rd(1)}},
		), map[int64][]int64{1: {11}}, model.GSingle + model.SuffixRealtime, "cycle T0 -> T1 -> T0 over realtime, rw edges"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckAppend(tc.h, model.Append, appendState(tc.state))
			expectAnomaly(t, res, tc.class, tc.sub)
		})
	}
}

// The verdict depends on the declared level: write skew (G2-item) is
// allowed under repeatable read and counted, not reported; G1c is
// forbidden even under read committed.
func TestCheckAppendVerdictPerIsolation(t *testing.T) {
	skew := appendHistory(true,
		atx{1, ok, []model.MicroOp{rd(1), ap(2, 21)}},
		atx{2, ok, []model.MicroOp{rd(2), ap(1, 11)}},
	)
	lists := map[int64][]int64{1: {11}, 2: {21}}
	for _, tc := range []struct {
		level  string
		forbid bool
	}{{"serializable", true}, {"repeatable-read", false}, {"snapshot-isolation", false}, {"read-committed", false}} {
		res := CheckAppend(skew, model.Append, model.AppendState{Isolation: tc.level, Lists: lists})
		if got := !res.OK(); got != tc.forbid || (!tc.forbid && res.Stats["allowed-G2-item"] != 1) {
			t.Errorf("%s: G2-item reported as a problem: %v, want %v; stats %v\n%s", tc.level, got, tc.forbid, res.Stats, res.Summary())
		}
	}
	circular := appendHistory(true,
		atx{1, ok, []model.MicroOp{ap(1, 11), rd(2, 21)}},
		atx{2, ok, []model.MicroOp{ap(2, 21), rd(1, 11)}},
	)
	res := CheckAppend(circular, model.Append, model.AppendState{Isolation: "read-committed", Lists: lists})
	expectAnomaly(t, res, model.G1c, "cycle")
	if res := CheckAppend(circular, model.Append, model.AppendState{Isolation: "chaos", Lists: lists}); res.OK() || res.Problems[0].Kind != "state" {
		t.Errorf("an unknown level must be a state problem:\n%s", res.Summary())
	}
}

// The explanation names every transaction and why each edge exists.
// Read committed: a second read sees another transaction's append (11,
// committed in between) before the reader's own (12). That is a fuzzy
// (non-repeatable) read, and with it a G-single: allowed at read committed,
// forbidden at repeatable read. A read that loses its own append is
// internal at every level.
func TestCheckAppendFuzzyReadPerIsolation(t *testing.T) {
	fuzzy := appendHistory(true,
		atx{1, ok, []model.MicroOp{ap(1, 11)}},
		atx{2, ok, []model.MicroOp{rd(1), ap(1, 12), rd(1, 11, 12)}},
	)
	lists := map[int64][]int64{1: {11, 12}}
	res := CheckAppend(fuzzy, model.Append, model.AppendState{Isolation: "read-committed", Lists: lists})
	if !res.OK() || res.Stats["allowed-fuzzy-read"] != 1 {
		t.Errorf("read committed allows a fuzzy read; stats %v\n%s", res.Stats, res.Summary())
	}
	res = CheckAppend(fuzzy, model.Append, model.AppendState{Isolation: "repeatable-read", Lists: lists})
	var kinds []string
	for _, p := range res.Problems {
		kinds = append(kinds, p.Kind)
	}
	if !slices.Contains(kinds, string(model.FuzzyRead)) || !strings.Contains(res.Summary(), "read key 1 = [11 12], but its earlier read and own appends of key 1 say [12]") {
		t.Errorf("repeatable read forbids a fuzzy read:\n%s", res.Summary())
	}
	lost := appendHistory(true,
		atx{1, ok, []model.MicroOp{ap(1, 11)}},
		atx{2, ok, []model.MicroOp{rd(1), ap(1, 12), rd(1, 11)}},
	)
	res = CheckAppend(lost, model.Append, model.AppendState{Isolation: "read-uncommitted", Lists: lists})
	if res.OK() || !strings.Contains(res.Summary(), "[internal]") {
		t.Errorf("a read without the transaction's own append is internal at every level:\n%s", res.Summary())
	}
}

func TestCheckAppendExplanation(t *testing.T) {
	res := CheckAppend(appendHistory(true,
		atx{1, ok, []model.MicroOp{ap(1, 11), ap(2, 21)}},
		atx{2, ok, []model.MicroOp{rd(1), rd(2, 21)}},
	), model.Append, appendState(map[int64][]int64{1: {11}, 2: {21}}))
	text := string(res.Files["append-001-G-single.txt"])
	for _, want := range []string{
		"T0 = op #2 (client 1, txn",
		"T1 = op #3 (client 2, txn",
		"T0 -wr-> T1: T1 read key 2 = [21], whose last value 21 T0 appended",
		"T1 -rw-> T0: T1 read key 1 = [], which lacks 11, the next value in key 1's order [11], appended by T0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	dot := string(res.Files["append-001-G-single.dot"])
	for _, want := range []string{`T0 -> T1 [label="wr k2 v21"]`, `T1 -> T0 [label="rw k1 v11"]`} {
		if !strings.Contains(dot, want) {
			t.Errorf("graph lacks %q:\n%s", want, dot)
		}
	}
}

// A write cycle through every transaction of a long ring: Tarjan runs
// without recursion, and the cycle found is the whole ring, classified G0.
func TestCheckAppendLongCycle(t *testing.T) {
	const n = 2000
	txns := make([]atx, n)
	lists := map[int64][]int64{}
	for i := int64(0); i < n; i++ {
		next := (i + 1) % n
		txns[i] = atx{int(i % 7), ok, []model.MicroOp{ap(i, 10*i+1), ap(next, 10*i+2)}}
		// Key j holds T_j's value, then T_(j-1)'s: T_j -ww-> T_(j-1).
		lists[i] = append([]int64{10*i + 1}, lists[i]...)
		lists[next] = append(lists[next], 10*i+2)
	}
	res := CheckAppend(appendHistory(true, txns...), model.Append, appendState(lists))
	expectAnomaly(t, res, model.G0, "cycle of 2000 transactions T0 -> T1999 -> T1998 -> T1997 -> T1996 -> T1995 -> T1994 -> T1993 -> T1992 -> T1991 -> ... -> T1 -> T0 over ww, ww, ww, ww, ww, ww, ww, ww, ww, ww, ..., ww edges")
	if got := strings.Count(string(res.Files["append-001-G0.txt"]), "-ww->"); got != n {
		t.Fatalf("want all %d edges explained, got %d", n, got)
	}
}
