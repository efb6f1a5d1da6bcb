package checker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckBank checks multi-row transactions: the log row of a transfer is
// present iff its balance changes are (balances == initial + logged
// transfers), every ok'd transfer is logged, no failed or never-attempted
// transfer is, and the total is conserved. As for the set, an info transfer
// an earlier check saw logged must stay logged, and one missing after the
// crash that ended it must never appear.
func CheckBank(h history.History, workload string, st model.BankState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.Transfer](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	setup, ok := setupOp(ops, model.FSetupAccounts)
	if !ok || setup.Type != history.OK {
		// Setup did not complete: nothing was promised.
		b.res.Stats["setup-incomplete"] = 1
		return b.res
	}
	var bs model.BankSetup
	if err := json.Unmarshal(setup.Invoke.Value, &bs); err != nil {
		b.problem("history", "setup op #%d: %v", setup.Invoke.Index, err)
		return b.res
	}
	if st.Missing {
		b.problem("missing-table", "the account or transfer-log table is gone, but it was created and filled by acknowledged statements: %s", b.ctx.Op(setup))
		return b.res
	}
	attempted := map[int64]history.Op{}
	var xfers []model.Transfer
	for i, op := range ops {
		if op.F != model.FTransfer {
			continue
		}
		b.res.Stats["transfer-"+string(op.Type)]++
		t := vals[i]
		attempted[t.ID] = op
		xfers = append(xfers, t)
	}
	want := map[int64]int64{}
	for i := 0; i < bs.Accounts; i++ {
		want[int64(i)] = bs.Initial
	}
	logged := map[int64]bool{}
	for _, t := range st.Log {
		logged[t.ID] = true
		op, ok := attempted[t.ID]
		switch {
		case !ok:
			b.problem("unexpected", "transfer log row %s (%d -> %d, %d) is present, but no client attempted it", model.DescribeID(t.ID), t.From, t.To, t.Amount)
			continue
		case op.Type == history.Fail:
			b.problem("unexpected", "transfer %s is logged, but its transaction failed: %s", model.DescribeID(t.ID), b.ctx.Op(op))
		}
		want[t.From] -= t.Amount
		want[t.To] += t.Amount
	}
	b.res.Stats["logged"] = len(st.Log)
	for _, t := range xfers {
		op := attempted[t.ID]
		switch typ, settled := b.outcome(&op, logged[t.ID], true); {
		case typ == history.OK && !logged[t.ID] && settled:
			b.problem("lost", "transfer %s is not logged; its outcome was unknown, but an earlier check saw it logged: %s", model.DescribeID(t.ID), b.ctx.Op(op))
		case typ == history.OK && !logged[t.ID]:
			b.problem("lost", "transfer %s is not logged, but its transaction was acknowledged: %s", model.DescribeID(t.ID), b.ctx.Op(op))
		case typ == history.Fail && logged[t.ID] && settled:
			b.problem("unstable", "transfer %s is logged, but an earlier check after a crash found it missing (its outcome was unknown): %s", model.DescribeID(t.ID), b.ctx.Op(op))
		}
	}
	var total int64
	for _, id := range sortedKeys(st.Balances) {
		total += st.Balances[id]
		if _, ok := want[id]; !ok {
			b.problem("unexpected", "account %d exists, but setup created only accounts 0..%d", id, bs.Accounts-1)
		}
	}
	for _, id := range sortedKeys(want) {
		got, ok := st.Balances[id]
		switch {
		case !ok:
			b.problem("lost", "account %d is missing; it was created by the acknowledged setup: %s", id, b.ctx.Op(setup))
		case got != want[id]:
			b.problem("half-applied", "account %d has balance %d, but initial balance + logged transfers = %d: a transaction's balance change is visible without its log row (or vice versa)%s",
				id, got, want[id], b.unloggedTouching(id, xfers, attempted, logged))
		}
	}
	if wantTotal := int64(bs.Accounts) * bs.Initial; total != wantTotal {
		b.problem("half-applied", "total balance is %d, want %d (money created or destroyed)", total, wantTotal)
	}
	return b.res
}

// unloggedTouching names the unknown-outcome transfers touching account id
// that are not logged: the likely half-applied transactions.
func (b *builder) unloggedTouching(id int64, xfers []model.Transfer, attempted map[int64]history.Op, logged map[int64]bool) string {
	var s []string
	for _, t := range xfers {
		if (t.From == id || t.To == id) && !logged[t.ID] && attempted[t.ID].Type != history.Fail {
			s = append(s, b.ctx.Op(attempted[t.ID]))
		}
	}
	sort.Strings(s)
	if len(s) == 0 {
		return ""
	}
	if len(s) > 5 {
		s = append(s[:5], fmt.Sprintf("... %d more", len(s)-5))
	}
	return "; unlogged transfers touching it: " + strings.Join(s, "; ")
}
