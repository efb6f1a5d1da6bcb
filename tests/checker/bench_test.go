package checker

import (
	"math/rand/v2"

	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// A soak of several hours under TCG records about a million entries; every
// check after a crash re-reads the whole history.
func BenchmarkCheckSetLongHistory(b *testing.B) {
	hb := newHB()
	hb.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	var keys []int64
	for i := int64(0); i < 500_000; i++ {
		hb.op(int(i%3), "set", model.FAdd, model.SetValue{K: i}, ok)
		keys = append(keys, i)
		if i%1000 == 0 {
			hb.crash()
		}
	}
	h := hb.h()
	b.ResetTimer()
	for b.Loop() {
		CheckSet(h, "set", model.SetState{Keys: keys})
	}
}

// serializableAppendHistory simulates n list-append transactions of 1-5
// micro-ops by 5 clients over 8 zipf-skewed active keys (retired after 48
// appends, as the workload does), executed one at a time in completion
// order, each invoked before the previous one completes. It returns the
// history and the final lists.
func serializableAppendHistory(n int) (history.History, map[int64][]int64) {
	rec := history.NewRecorder(nil)
	rec.Invoke(history.SetupProcess, model.Append, model.FSetupTable, nil).OK(nil)
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.3, 1, 7)
	slots, appends := []int64{0, 1, 2, 3, 4, 5, 6, 7}, make([]int, 8)
	nextKey, nextVal := int64(8), int64(0)
	lists := map[int64][]int64{}
	var prev *history.Pending
	var prevOps []model.MicroOp
	for i := 0; i <= n; i++ {
		var p *history.Pending
		var ops []model.MicroOp
		if i < n {
			ops = make([]model.MicroOp, 1+rng.IntN(5))
			for j := range ops {
				s := int(zipf.Uint64())
				if rng.IntN(2) == 0 {
					ops[j] = model.MicroOp{F: model.MicroRead, K: slots[s]}
					continue
				}
				nextVal++
				ops[j] = model.MicroOp{F: model.MicroAppend, K: slots[s], V: nextVal}
				if appends[s]++; appends[s] == 48 {
					slots[s], appends[s] = nextKey, 0
					nextKey++
				}
			}
			p = rec.Invoke(i%5, model.Append, model.FTxn, ops)
		}
		if prev != nil {
			// The previous transaction takes effect now, in full.
			for j, m := range prevOps {
				if m.F == model.MicroAppend {
					lists[m.K] = append(lists[m.K], m.V)
					continue
				}
				prevOps[j].List, prevOps[j].Read = append([]int64{}, lists[m.K]...), true
			}
			prev.Complete(history.OK, prevOps, nil)
			if i%1000 == 0 {
				rec.Invoke(history.NemesisProcess, "", history.FCrash, nil).OK(nil)
			}
		}
		prev, prevOps = p, ops
	}
	return rec.Entries(), lists
}

// The issue-14 goal: a 100,000-transaction history checked in at most
// 10 s on 2 cores.
func BenchmarkCheckAppend100k(b *testing.B) {
	h, lists := serializableAppendHistory(100_000)
	st := model.AppendState{Isolation: "serializable", Lists: lists}
	b.ResetTimer()
	for b.Loop() {
		if res := CheckAppend(h, model.Append, st); !res.OK() {
			b.Fatalf("a serializable history must pass:\n%s", res.Summary())
		}
	}
}

// Register reads are checked with porcupine after every crash over the
// whole history: 100,000 ops over 9 registers, an unread info write every
// 500 ops (one per crash and client in a real run).
func BenchmarkCheckRegistersLinearizable(b *testing.B) {
	rec := history.NewRecorder(nil)
	rec.Invoke(history.SetupProcess, model.Register, model.FSetupTable, nil).OK(nil)
	rng := rand.New(rand.NewPCG(3, 4))
	regs := map[int64]int64{}
	for i := int64(1); i <= 100_000; i++ {
		id := rng.Int64N(9)
		switch {
		case i%500 == 0:
			rec.Invoke(int(id/3), model.Register, model.FWrite, model.RegisterValue{ID: id, V: -i}).Info(nil)
		case rng.IntN(2) == 0:
			rec.Invoke(int(id/3), model.Register, model.FWrite, model.RegisterValue{ID: id, V: i}).OK(nil)
			regs[id] = i
		default:
			rec.Invoke(3+int(i%3), model.Register, model.FRead, model.RegisterValue{ID: id}).OK(model.RegisterValue{ID: id, V: regs[id]})
		}
	}
	h := rec.Entries()
	st := model.RegisterState{Registers: regs, Counters: map[int64]int64{}}
	b.ResetTimer()
	for b.Loop() {
		if res := CheckRegisters(h, model.Register, st); !res.OK() || res.Stats["reads"] == 0 {
			b.Fatalf("a linearizable history must pass:\n%s", res.Summary())
		}
	}
}
