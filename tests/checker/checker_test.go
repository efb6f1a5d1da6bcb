package checker

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// hb builds hand-made histories.
type hb struct{ rec *history.Recorder }

func newHB() hb { return hb{history.NewRecorder(nil)} }

func (b hb) op(proc int, wl, f string, v any, t history.Type) {
	p := b.rec.Invoke(proc, wl, f, v)
	switch t {
	case history.OK:
		p.OK(nil)
	case history.Fail:
		p.Fail(errors.New("Error 1062 (23000): Duplicate entry"))
	case history.Info:
		p.Info(errors.New("invalid connection"))
	}
}

func (b hb) crash() {
	b.rec.Invoke(history.NemesisProcess, "", history.FCrash, nil).OK(nil)
}

func (b hb) h() history.History { return b.rec.Entries() }

const (
	ok   = history.OK
	fail = history.Fail
	info = history.Info
)

// expectProblems asserts res has exactly the problem kinds in want, and
// that every message contains the corresponding substring.
func expectProblems(t *testing.T, res Result, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, p := range res.Problems {
		got[p.Kind] += p.Message + "\n"
	}
	for kind, sub := range want {
		if !strings.Contains(got[kind], sub) {
			t.Errorf("want a %q problem mentioning %q; got:\n%s", kind, sub, res.Summary())
		}
	}
	for kind := range got {
		if _, ok := want[kind]; !ok {
			t.Errorf("unexpected %q problem:\n%s", kind, res.Summary())
		}
	}
}

func setHistory() history.History {
	b := newHB()
	b.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 1}, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 2}, fail)
	b.crash()
	b.op(2, "set", model.FAdd, model.SetValue{K: 3}, info)
	b.op(2, "set", model.FAdd, model.SetValue{K: 4}, info)
	b.op(1, "set", model.FAdd, model.SetValue{K: 5}, ok)
	b.op(1, "set", model.FDel, model.SetValue{K: 5}, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 6}, ok)
	b.op(1, "set", model.FDel, model.SetValue{K: 6}, fail)
	b.op(1, "set", model.FAdd, model.SetValue{K: 7}, ok)
	b.op(1, "set", model.FDel, model.SetValue{K: 7}, info)
	b.crash()
	return b.h()
}

func TestCheckSet(t *testing.T) {
	h := setHistory()
	for _, keys := range [][]int64{{1, 3, 6}, {1, 4, 6, 7}, {1, 6}, {1, 3, 4, 6, 7}} {
		if res := CheckSet(h, "set", model.SetState{Keys: keys}); !res.OK() {
			t.Errorf("state %v must pass:\n%s", keys, res.Summary())
		}
	}
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{6}}), map[string]string{
		"lost": "key 1 (client 0, #1) is missing, but its insert was acknowledged: op #2 (client 1, add {\"k\":1}",
	})
	// The message places the op relative to the resets.
	if res := CheckSet(h, "set", model.SetState{Keys: []int64{6}}); !strings.Contains(res.Problems[0].Message, "before reset #1") {
		t.Errorf("message does not name the reset after the op: %s", res.Problems[0].Message)
	}
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{1, 6, 99}}), map[string]string{
		"unexpected": "key 99 (client 0, #99) is present, but no client ever inserted it",
	})
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{1, 2, 6}}), map[string]string{
		"unexpected": "key 2 (client 0, #2) is present, but its insert failed",
	})
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{1, 5, 6}}), map[string]string{
		"resurrected": "key 5 (client 0, #5) is present, but its delete was acknowledged",
	})
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{1}}), map[string]string{
		"lost": "key 6 (client 0, #6) is missing; its insert was acknowledged",
	})
	expectProblems(t, CheckSet(h, "set", model.SetState{Missing: true}), map[string]string{
		"missing-table": "CREATE TABLE was acknowledged",
		"lost":          "key 1",
	})
}

func TestCheckRegisters(t *testing.T) {
	b := newHB()
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 1}, ok)
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 2}, ok)
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 3}, info)
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 4}, fail)
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, ok)
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, ok)
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, info)
	b.op(2, "reg", model.FWrite, model.RegisterValue{ID: 20, V: 1}, info)
	h := b.h()
	st := func(r10, c1 int64) model.RegisterState {
		return model.RegisterState{Registers: map[int64]int64{10: r10}, Counters: map[int64]int64{1: c1}}
	}
	for _, s := range []model.RegisterState{st(2, 2), st(3, 3), {Registers: map[int64]int64{10: 3, 20: 1}, Counters: map[int64]int64{1: 2}}} {
		if res := CheckRegisters(h, "reg", s); !res.OK() {
			t.Errorf("state %+v must pass:\n%s", s, res.Summary())
		}
	}
	expectProblems(t, CheckRegisters(h, "reg", st(1, 2)), map[string]string{"backwards": "register 10 reads 1, older than the acknowledged value 2"})
	expectProblems(t, CheckRegisters(h, "reg", st(4, 2)), map[string]string{"unexpected": "written only by a failed op"})
	expectProblems(t, CheckRegisters(h, "reg", st(7, 2)), map[string]string{"unexpected": "a value no client wrote"})
	expectProblems(t, CheckRegisters(h, "reg", st(2, 1)), map[string]string{"lost": "counter 1 reads 1, but 2 increments were acknowledged"})
	expectProblems(t, CheckRegisters(h, "reg", st(2, 4)), map[string]string{"unexpected": "counter 1 reads 4"})
	expectProblems(t, CheckRegisters(h, "reg", model.RegisterState{Counters: map[int64]int64{1: 2}}), map[string]string{"lost": "register 10 is missing"})
}

func TestCheckBank(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "bank", model.FSetupAccounts, model.BankSetup{Accounts: 3, Initial: 100}, ok)
	b.op(1, "bank", model.FTransfer, model.Transfer{ID: 1, From: 0, To: 1, Amount: 10}, ok)
	b.op(2, "bank", model.FTransfer, model.Transfer{ID: 2, From: 1, To: 2, Amount: 5}, info)
	b.op(1, "bank", model.FTransfer, model.Transfer{ID: 3, From: 2, To: 0, Amount: 7}, fail)
	h := b.h()
	t1 := model.Transfer{ID: 1, From: 0, To: 1, Amount: 10}
	t2 := model.Transfer{ID: 2, From: 1, To: 2, Amount: 5}
	t3 := model.Transfer{ID: 3, From: 2, To: 0, Amount: 7}
	pass := []model.BankState{
		{Balances: map[int64]int64{0: 90, 1: 110, 2: 100}, Log: []model.Transfer{t1}},
		{Balances: map[int64]int64{0: 90, 1: 105, 2: 105}, Log: []model.Transfer{t1, t2}},
	}
	for _, s := range pass {
		if res := CheckBank(h, "bank", s); !res.OK() {
			t.Errorf("state %+v must pass:\n%s", s, res.Summary())
		}
	}
	// Transfer 2's balance changes are visible without its log row.
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 90, 1: 105, 2: 105}, Log: []model.Transfer{t1}}), map[string]string{
		"half-applied": "unlogged transfers touching it: op #4 (client 2, transfer",
	})
	// Only the debit of transfer 1 survived.
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 90, 1: 100, 2: 100}, Log: []model.Transfer{t1}}), map[string]string{
		"half-applied": "total balance is 290",
	})
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 100, 1: 100, 2: 100}}), map[string]string{
		"lost": "transfer 1 (client 0, #1) is not logged, but its transaction was acknowledged",
	})
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 97, 1: 110, 2: 93}, Log: []model.Transfer{t1, t3}}), map[string]string{
		"unexpected": "transfer 3 (client 0, #3) is logged, but its transaction failed",
	})
}

func table(step int) *model.ObjState { return model.Lifecycles[model.KindTable][step].Expect }

func TestCheckDDL(t *testing.T) {
	b := newHB()
	for step := 0; step <= 2; step++ { // CREATE, INSERT, ADD COLUMN
		b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t0", Kind: model.KindTable, Step: step}, ok)
	}
	b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t1", Kind: model.KindTable, Step: 0}, ok)
	b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t1", Kind: model.KindTable, Step: 1}, ok)
	b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t1", Kind: model.KindTable, Step: 2}, info)
	b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t2", Kind: model.KindTable, Step: 0}, fail)
	b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "d3", Kind: model.KindDatabase, Step: 0}, ok)
	h := b.h()
	state := func(objs map[string]*model.ObjState) model.DDLState {
		st := model.DDLState{Objects: map[string]model.ObjState{}}
		for k, v := range objs {
			if v != nil {
				st.Objects[k] = *v
			}
		}
		return st
	}
	db := &model.ObjState{Kind: model.KindDatabase}
	for _, t1 := range []*model.ObjState{table(1), table(2)} { // unknown ADD COLUMN: either
		if res := CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t0": table(2), "ddl_t1": t1, "d3": db})); !res.OK() {
			t.Errorf("must pass:\n%s", res.Summary())
		}
	}
	expectProblems(t, CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t1": table(1), "d3": db})), map[string]string{
		"lost": "table ddl_t0 is absent, but the acknowledged DDL leaves it present with columns [id a b]",
	})
	// The acknowledged ADD COLUMN is missing.
	expectProblems(t, CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t0": table(1), "ddl_t1": table(1), "d3": db})), map[string]string{
		"lost": "it is as step 1 left it, so the acknowledged step 2 \"ALTER TABLE %s ADD COLUMN b INT NOT NULL DEFAULT 7\" was lost: op #4 ",
	})
	// Column added but its default not applied to existing rows.
	half := *table(2)
	half.SumB = 0
	expectProblems(t, CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t0": &half, "ddl_t1": table(1), "d3": db})), map[string]string{
		"schema": "sum b=0",
	})
	// A failed CREATE TABLE must not exist; a never-created object neither.
	expectProblems(t, CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t0": table(2), "ddl_t1": table(1), "d3": db, "ddl_t2": table(0), "ddl_t9": table(0)})), map[string]string{
		"schema":     "table ddl_t2 is present",
		"unexpected": "table ddl_t9 exists",
	})
	expectProblems(t, CheckDDL(h, "ddl", state(map[string]*model.ObjState{"ddl_t0": table(2), "ddl_t1": table(1)})), map[string]string{
		"lost": "database d3 is absent",
	})
}

func TestCheckGC(t *testing.T) {
	b := newHB()
	b.op(0, "gc", model.FGC, nil, ok)
	b.op(0, "gc", model.FGC, nil, info)
	if res := CheckGC(b.h(), "gc"); !res.OK() || res.Stats["gc-ok"] != 1 {
		t.Fatalf("%s", res.Summary())
	}
	b.op(0, "gc", model.FGC, nil, fail)
	expectProblems(t, CheckGC(b.h(), "gc"), map[string]string{"gc-error": "GC failed"})
}

func TestAckedWritesCountsOnlyAcknowledgedWrites(t *testing.T) {
	r := Result{Stats: map[string]int{"transfer-ok": 3, "transfer-fail": 9, "transfer-info": 2, "logged": 3, "present": 7}}
	if got := r.AckedWrites(); got != 3 {
		t.Fatalf("AckedWrites = %d, want 3", got)
	}
	if got := (Result{Stats: map[string]int{"transfer-fail": 5}}).AckedWrites(); got != 0 {
		t.Fatalf("AckedWrites with only failures = %d, want 0", got)
	}
}

// What a check after a crash observed must stay: an info insert seen
// present is then as good as acknowledged, and one found missing after the
// crash that ended it must never appear.
func TestCheckSetHoldsObservationsOfUnknownOutcomes(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 1}, info) // cut by crash 1
	b.op(2, "set", model.FAdd, model.SetValue{K: 2}, info) // cut by crash 1
	b.crash()
	first := CheckSet(b.h(), "set", model.SetState{Keys: []int64{1}})
	expectProblems(t, first, nil)
	// Invoke indexes: setup 0 (ok 1), key 1's insert 2 (info 3), key 2's 4.
	if len(first.Resolved) != 2 || !first.Resolved[2] || first.Resolved[4] {
		t.Fatalf("resolved = %v; want key 1's insert (op 2) took effect and key 2's (op 4) did not", first.Resolved)
	}
	b.rec.Log(history.CheckerProcess, "set", history.FResolve, first.Resolved)
	b.crash()
	h := b.h()

	// The same state again: fine, and nothing new to resolve.
	again := CheckSet(h, "set", model.SetState{Keys: []int64{1}})
	expectProblems(t, again, nil)
	if len(again.Resolved) != 0 {
		t.Errorf("resolved again: %v", again.Resolved)
	}
	// Key 1, once seen, lost after the next crash.
	expectProblems(t, CheckSet(h, "set", model.SetState{}), map[string]string{"lost": "key 1 (client 0, #1) is missing"})
	// Key 2, missing after the crash that cut its insert, appears later.
	expectProblems(t, CheckSet(h, "set", model.SetState{Keys: []int64{1, 2}}), map[string]string{"unstable": "key 2 (client 0, #2) is present"})
}

func TestCheckRegistersHoldsObservedValues(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "register", model.FSetupTable, nil, ok)
	b.op(1, "register", model.FWrite, model.RegisterValue{ID: 1, V: 1}, ok)
	b.op(1, "register", model.FWrite, model.RegisterValue{ID: 1, V: 2}, info) // cut by the crash
	b.crash()
	first := CheckRegisters(b.h(), "register", model.RegisterState{Registers: map[int64]int64{1: 2}})
	expectProblems(t, first, nil)
	if len(first.Resolved) != 1 {
		t.Fatalf("resolved = %v; want the info write of 2", first.Resolved)
	}
	b.rec.Log(history.CheckerProcess, "register", history.FResolve, first.Resolved)
	b.crash()
	h := b.h()
	expectProblems(t, CheckRegisters(h, "register", model.RegisterState{Registers: map[int64]int64{1: 2}}), nil)
	expectProblems(t, CheckRegisters(h, "register", model.RegisterState{Registers: map[int64]int64{1: 1}}),
		map[string]string{"backwards": "which an earlier check read back"})
}

func TestCheckBankHoldsObservedTransfers(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "bank", model.FSetupAccounts, model.BankSetup{Accounts: 2, Initial: 100}, ok)
	t1 := model.Transfer{ID: 1, From: 0, To: 1, Amount: 10}
	t2 := model.Transfer{ID: 2, From: 1, To: 0, Amount: 3}
	b.op(1, "bank", model.FTransfer, t1, info) // both cut by the crash
	b.op(2, "bank", model.FTransfer, t2, info)
	b.crash()
	first := CheckBank(b.h(), "bank", model.BankState{Balances: map[int64]int64{0: 90, 1: 110}, Log: []model.Transfer{t1}})
	expectProblems(t, first, nil)
	if len(first.Resolved) != 2 {
		t.Fatalf("resolved = %v; want transfer 1 took effect, transfer 2 did not", first.Resolved)
	}
	b.rec.Log(history.CheckerProcess, "bank", history.FResolve, first.Resolved)
	b.crash()
	h := b.h()
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 90, 1: 110}, Log: []model.Transfer{t1}}), nil)
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 100, 1: 100}}),
		map[string]string{"lost": "an earlier check saw it logged"})
	expectProblems(t, CheckBank(h, "bank", model.BankState{Balances: map[int64]int64{0: 93, 1: 107}, Log: []model.Transfer{t1, t2}}),
		map[string]string{"unstable": "transfer 2 (client 0, #2) is logged"})
}

// Ids encode the client that made them; messages say which.
func TestMessagesNameTheClientOfAnID(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	k := model.ClientID(3, 7)
	b.op(3, "set", model.FAdd, model.SetValue{K: k}, ok)
	b.crash()
	expectProblems(t, CheckSet(b.h(), "set", model.SetState{}), map[string]string{
		"lost": fmt.Sprintf("key %d (client 3, #7) is missing", k),
	})
}

// A lost count names the last increment acknowledged before the reset,
// not one acknowledged after it; a register that went backwards names the
// first acknowledged value it lacks.
func TestMessagesPointAtTheDecidingOp(t *testing.T) {
	b := newHB()
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, ok)         // op #0
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, ok)         // op #2
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 1}, ok) // op #4
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 2}, ok) // op #6
	b.op(1, "reg", model.FWrite, model.RegisterValue{ID: 10, V: 3}, ok) // op #8
	b.crash()                                                           // #10, #11
	b.op(1, "reg", model.FIncr, model.RegisterValue{ID: 1}, ok)         // op #12
	h := b.h()
	res := CheckRegisters(h, "reg", model.RegisterState{Registers: map[int64]int64{10: 1}, Counters: map[int64]int64{1: 1}})
	expectProblems(t, res, map[string]string{
		"lost":      "the last acknowledged before reset #1: op #2 ",
		"backwards": "older than the acknowledged value 2: op #6 ",
	})
}

func TestEveryWorkloadHasAChecker(t *testing.T) {
	for _, name := range model.Workloads {
		if _, err := For(name); err != nil {
			t.Errorf("workload %s: %v", name, err)
		}
	}
	if len(checkers) != len(model.Workloads) {
		t.Errorf("%d checkers for %d workloads", len(checkers), len(model.Workloads))
	}
	if res := Check(nil, "nope", nil); res.OK() || !strings.Contains(res.Problems[0].Message, "known: set, register") {
		t.Errorf("unknown workload: %s", res.Summary())
	}
}

// A lost DDL step is named as such when no later step of the object was in
// flight (the MariaDB CREATE INDEX finding); with the next step in flight,
// "index gone" is also what an applied DROP INDEX leaves, so it passes.
func TestCheckDDLNamesTheLostStep(t *testing.T) {
	run := func(lastOK int, next history.Type) history.History {
		b := newHB()
		for step := 0; step <= lastOK; step++ {
			b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t0", Kind: model.KindTable, Step: step}, ok)
		}
		if next != "" {
			b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "ddl_t0", Kind: model.KindTable, Step: lastOK + 1}, next)
		}
		b.crash()
		return b.h()
	}
	noIndex := model.DDLState{Objects: map[string]model.ObjState{"ddl_t0": *table(2)}}
	expectProblems(t, CheckDDL(run(3, ""), "ddl", noIndex), map[string]string{
		"lost": "so the acknowledged step 3 \"CREATE INDEX ix_a ON %s (a)\" was lost: op #6 ",
	})
	dropInFlight := model.DDLState{Objects: map[string]model.ObjState{"ddl_t0": *table(5)}}
	expectProblems(t, CheckDDL(run(4, info), "ddl", dropInFlight), nil)
	expectProblems(t, CheckDDL(run(1, ""), "ddl", model.DDLState{}), map[string]string{
		"lost": "table ddl_t0 is absent, but the acknowledged DDL leaves it present with columns [id a], indexes [], 3 rows (sum a=60, sum b=0); it is as before its first step, so the acknowledged step 0",
	})
}

// A present key must hold the payload its insert wrote: length and
// content (SHA-256 of model.ValueContent) are both checked.
func TestCheckSetPayloads(t *testing.T) {
	b := newHB()
	b.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 1, Len: 3 << 20}, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 2, Len: 1000}, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 3, Len: 1000}, ok)
	b.op(1, "set", model.FAdd, model.SetValue{K: 4}, ok)
	b.crash()
	good := model.SetState{Keys: []int64{1, 2, 3, 4}, Payloads: true, Values: map[int64]model.StoredValue{
		1: {Len: 3 << 20, SHA256: model.ValueDigest(1, 3<<20)},
		2: {Len: 1000, SHA256: model.ValueDigest(2, 1000)},
		3: {Len: 1000, SHA256: model.ValueDigest(3, 1000)},
	}}
	expectProblems(t, CheckSet(b.h(), "set", good), nil)

	bad := model.SetState{Keys: []int64{1, 2, 3, 4}, Payloads: true, Values: map[int64]model.StoredValue{
		1: {Len: 1 << 20, SHA256: model.ValueDigest(1, 1<<20)}, // truncated
		2: {Len: 1000, SHA256: model.ValueDigest(3, 1000)},     // another row's bytes
		// 3: payload gone
		4: {Len: 5, SHA256: model.ValueDigest(4, 5)}, // a payload where none was written
	}}
	res := CheckSet(b.h(), "set", bad)
	if len(res.Problems) != 4 {
		t.Fatalf("want 4 corrupt payloads, got:\n%s", res.Summary())
	}
	expectProblems(t, res, map[string]string{"corrupt": "key 1 (client 0, #1) holds a payload of 1048576 bytes, but its insert wrote 3145728 bytes"})
	for _, want := range []string{"key 2 (client 0, #2) holds a payload of the right length (1000 bytes) but the wrong content", "key 3 (client 0, #3) holds a payload of 0 bytes", "key 4 (client 0, #4) holds a payload of 5 bytes"} {
		if !strings.Contains(res.Summary(), want) {
			t.Errorf("want %q in:\n%s", want, res.Summary())
		}
	}
	// Snapshots taken before payloads existed are not held to them.
	old := model.SetState{Keys: []int64{1, 2, 3, 4}}
	expectProblems(t, CheckSet(b.h(), "set", old), nil)
}
