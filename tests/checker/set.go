package checker

import (
	"fmt"
	"sort"
	"sync"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckSet checks unique-key inserts and deletes:
//   - every ok'd add is present unless an ok/info delete of it followed;
//   - every ok'd delete is absent;
//   - a failed add is absent, a failed delete leaves an ok'd add present;
//   - no key is present that was never added;
//   - a present key holds the payload its insert wrote (length and
//     SHA-256 of model.ValueContent), when the snapshot read payloads;
//   - what was observed stays: an add with unknown outcome (info) that an
//     earlier check saw present counts as ok'd, and one that an earlier
//     check saw missing after the crash that ended it counts as failed.
func CheckSet(h history.History, workload string, st model.SetState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.SetValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	type keyOps struct {
		add, del *history.Op
		addLen   int64
	}
	keys := map[int64]*keyOps{}
	for i := range ops {
		op := &ops[i]
		if op.F != model.FAdd && op.F != model.FDel {
			continue
		}
		b.res.Stats[op.F+"-"+string(op.Type)]++
		k := keys[vals[i].K]
		if k == nil {
			k = &keyOps{}
			keys[vals[i].K] = k
		}
		if op.F == model.FAdd {
			k.add, k.addLen = op, vals[i].Len
		} else {
			k.del = op
		}
	}
	if setup, ok := setupOp(ops, model.FSetupTable); ok && setup.Type == history.OK && st.Missing {
		b.problem("missing-table", "the set table is gone, but its CREATE TABLE was acknowledged: %s", b.ctx.Op(setup))
	}
	present := make(map[int64]bool, len(st.Keys))
	for _, k := range st.Keys {
		present[k] = true
	}
	b.res.Stats["present"] = len(present)

	for _, k := range sortedKeys(keys) {
		ko := keys[k]
		in := present[k]
		delete(present, k)
		if ko.add == nil {
			continue // a delete without an add is a workload bug
		}
		addType, settled := b.outcome(ko.add, in, ko.del == nil)
		if in && st.Payloads {
			checkPayload(b, k, ko.addLen, st.Values[k], ko.add)
		}
		switch {
		case addType == history.Fail && in && settled:
			b.problem("unstable", "key %s is present, but an earlier check after a crash found it missing (its insert's outcome was unknown): %s", model.DescribeID(k), b.ctx.Op(*ko.add))
		case addType == history.Fail && in:
			b.problem("unexpected", "key %s is present, but its insert failed: %s", model.DescribeID(k), b.ctx.Op(*ko.add))
		case addType != history.OK:
			// Unknown insert: either outcome (and its delete) is fine.
		case ko.del == nil && !in && settled:
			b.problem("lost", "key %s is missing; its insert's outcome was unknown, but an earlier check saw the key present: %s", model.DescribeID(k), b.ctx.Op(*ko.add))
		case ko.del == nil && !in:
			b.problem("lost", "key %s is missing, but its insert was acknowledged: %s", model.DescribeID(k), b.ctx.Op(*ko.add))
		case ko.del == nil:
		case ko.del.Type == history.OK && in:
			b.problem("resurrected", "key %s is present, but its delete was acknowledged: %s (insert: %s)", model.DescribeID(k), b.ctx.Op(*ko.del), b.ctx.Op(*ko.add))
		case ko.del.Type == history.Fail && !in:
			b.problem("lost", "key %s is missing; its insert was acknowledged (%s) and its delete failed (%s)", model.DescribeID(k), b.ctx.Op(*ko.add), b.ctx.Op(*ko.del))
		}
	}
	for _, k := range sortedKeys(present) {
		b.problem("unexpected", "key %s is present, but no client ever inserted it", model.DescribeID(k))
	}
	return b.res
}

// checkPayload compares the payload read back for key k with the one its
// insert wrote.
func checkPayload(b *builder, k, want int64, got model.StoredValue, add *history.Op) {
	if want > 0 {
		b.res.Stats["payload-bytes-checked"] += int(want)
	}
	switch {
	case got.Len != want:
		b.problem("corrupt", "key %s holds a payload of %s, but its insert wrote %s: %s", model.DescribeID(k), sizeText(got.Len), sizeText(want), b.ctx.Op(*add))
	case want > 0 && got.SHA256 != payloadDigest(k, want):
		b.problem("corrupt", "key %s holds a payload of the right length (%s) but the wrong content (SHA-256 %s, want %s): %s", model.DescribeID(k), sizeText(want), got.SHA256, payloadDigest(k, want), b.ctx.Op(*add))
	}
}

func sizeText(n int64) string {
	if n < 0 {
		return "NULL"
	}
	return fmt.Sprintf("%d bytes", n)
}

// digests memoizes model.ValueDigest: every check after every crash
// re-reads all payloads, and hashing a 24 MiB one costs ~0.1 s.
var digests sync.Map // [2]int64{k, n} -> string

func payloadDigest(k, n int64) string {
	if d, ok := digests.Load([2]int64{k, n}); ok {
		return d.(string)
	}
	d := model.ValueDigest(k, n)
	digests.Store([2]int64{k, n}, d)
	return d
}

func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
