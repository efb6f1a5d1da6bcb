package checker

import (
	"errors"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// regOp is one register op of a hand-made history; read results go in
// the completion.
type regOp struct {
	proc int
	f    string
	id   int64
	v    int64
	t    history.Type
}

// registerHistory records ops; ops with the same non-zero group are
// concurrent (all invoked before any completes).
func registerHistory(groups ...[]regOp) history.History {
	rec := history.NewRecorder(nil)
	rec.Invoke(history.SetupProcess, model.Register, model.FSetupTable, nil).OK(nil)
	for _, g := range groups {
		ps := make([]*history.Pending, len(g))
		for i, o := range g {
			in := model.RegisterValue{ID: o.id}
			if o.f == model.FWrite {
				in.V = o.v
			}
			ps[i] = rec.Invoke(o.proc, model.Register, o.f, in)
		}
		for i, o := range g {
			switch o.t {
			case history.OK:
				var out any
				if o.f == model.FRead {
					out = model.RegisterValue{ID: o.id, V: o.v}
				}
				ps[i].Complete(history.OK, out, nil)
			case history.Fail:
				ps[i].Fail(errors.New("Error 1213: deadlock"))
			case history.Info:
				ps[i].Info(errors.New("invalid connection"))
			}
		}
	}
	return rec.Entries()
}

func seq(ops ...regOp) [][]regOp {
	out := make([][]regOp, len(ops))
	for i, o := range ops {
		out[i] = []regOp{o}
	}
	return out
}

func TestRegisterLinearizable(t *testing.T) {
	w, r := model.FWrite, model.FRead
	for name, tc := range map[string]struct {
		h     history.History
		final map[int64]int64
	}{
		"sequential": {registerHistory(seq(regOp{1, w, 3, 1, ok}, regOp{2, r, 3, 1, ok}, regOp{1, w, 3, 2, ok}, regOp{2, r, 3, 2, ok})...), map[int64]int64{3: 2}},
		// A read concurrent with a write may see either value.
		"concurrent": {registerHistory(
			[]regOp{{1, w, 3, 1, ok}},
			[]regOp{{1, w, 3, 2, ok}, {2, r, 3, 1, ok}, {3, r, 3, 2, ok}},
			[]regOp{{2, r, 3, 2, ok}},
		), map[int64]int64{3: 2}},
		// An info write may take effect long after it returned; a failed
		// one never does.
		"info write lands late": {registerHistory(seq(regOp{1, w, 3, 1, info}, regOp{2, r, 3, 0, ok}, regOp{1, w, 3, 2, fail}, regOp{2, r, 3, 1, ok})...), map[int64]int64{3: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			res := CheckRegisters(tc.h, model.Register, model.RegisterState{Registers: tc.final, Counters: map[int64]int64{}})
			if !res.OK() || res.Stats["reads"] == 0 {
				t.Fatalf("want a linearizable history with reads checked:\n%s", res.Summary())
			}
		})
	}
	for name, tc := range map[string]struct {
		h   history.History
		sub string
	}{
		// Acknowledged 2, then a later read sees 1: a stale read.
		"stale read": {registerHistory(seq(regOp{1, w, 3, 1, ok}, regOp{1, w, 3, 2, ok}, regOp{2, r, 3, 1, ok})...),
			"register 3: its reads and writes during the run are not linearizable (porcupine found no order of them); op #6 (client 2, read {\"id\":3}"},
		// Once a read saw the info write's 5, a later read cannot see 0.
		"info write seen then gone": {registerHistory(seq(regOp{1, w, 3, 5, info}, regOp{2, r, 3, 5, ok}, regOp{3, r, 3, 0, ok})...),
			"register 3: its reads and writes during the run are not linearizable"},
		// A read of a value nobody wrote.
		"failed write read": {registerHistory(seq(regOp{1, w, 3, 7, fail}, regOp{2, r, 3, 7, ok})...),
			"register 3: its reads and writes during the run are not linearizable"},
	} {
		t.Run(name, func(t *testing.T) {
			res := CheckRegisters(tc.h, model.Register, model.RegisterState{Registers: map[int64]int64{3: 7}, Counters: map[int64]int64{}})
			var got []string
			for _, p := range res.Problems {
				if p.Kind == "nonlinearizable" {
					got = append(got, p.Message)
				}
			}
			if len(got) != 1 || !strings.Contains(got[0], tc.sub) {
				t.Fatalf("want one nonlinearizable problem mentioning %q; got:\n%s", tc.sub, res.Summary())
			}
			html := string(res.Files["register-3-linearizability.html"])
			if !strings.Contains(got[0], "register-3-linearizability.html") || !strings.Contains(html, "<html") {
				t.Fatalf("want porcupine's visualization (%d bytes):\n%s", len(html), got[0])
			}
		})
	}
}
