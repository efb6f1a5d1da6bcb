package checker

import (
	"math"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckRegisters checks registers and counters.
//
// Each register is owned by one client, which writes strictly increasing
// values with a monotonic upsert (a late, stale write cannot lower it). The
// value read back must be >= the last acknowledged write and equal to a
// value some write attempted and did not definitely fail.
//
// The reads during the run, with the writes, must be linearizable
// (checkLinearizable, with porcupine).
//
// A counter is incremented by 1 per op: its value must lie between the
// number of ok'd increments and that plus the number of unknown ones.
func CheckRegisters(h history.History, workload string, st model.RegisterState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.RegisterValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	if setup, ok := setupOp(ops, model.FSetupTable); ok && setup.Type == history.OK && st.Missing {
		b.problem("missing-table", "the register/counter tables are gone, but their CREATE TABLE was acknowledged: %s", b.ctx.Op(setup))
	}
	type reg struct {
		lastOK   *history.Op
		lastOKV  int64
		observed bool // lastOK is an info write an earlier check saw
		// acked: writes the database is held to (ok, or info an earlier
		// check read back), by value.
		acked    map[int64]*history.Op
		possible map[int64]*history.Op // ok or info writes by value
		failed   map[int64]*history.Op
	}
	type ctr struct {
		ok, info int64
		acked    []*history.Op
	}
	regs := map[int64]*reg{}
	ctrs := map[int64]*ctr{}
	for i := range ops {
		op, v := &ops[i], vals[i]
		switch op.F {
		case model.FWrite:
			b.res.Stats["write-"+string(op.Type)]++
			r := regs[v.ID]
			if r == nil {
				r = &reg{acked: map[int64]*history.Op{}, possible: map[int64]*history.Op{}, failed: map[int64]*history.Op{}}
				regs[v.ID] = r
			}
			switch op.Type {
			case history.OK:
				r.possible[v.V], r.acked[v.V] = op, op
				if r.lastOK == nil || v.V > r.lastOKV {
					r.lastOK, r.lastOKV, r.observed = op, v.V, false
				}
			case history.Info:
				r.possible[v.V] = op
				if b.resolved[op.Invoke.Index] {
					r.acked[v.V] = op
				}
				if b.resolved[op.Invoke.Index] && (r.lastOK == nil || v.V > r.lastOKV) {
					r.lastOK, r.lastOKV, r.observed = op, v.V, true
				}
			case history.Fail:
				r.failed[v.V] = op
			}
		case model.FIncr:
			b.res.Stats["incr-"+string(op.Type)]++
			c := ctrs[v.ID]
			if c == nil {
				c = &ctr{}
				ctrs[v.ID] = c
			}
			switch op.Type {
			case history.OK:
				c.ok++
				c.acked = append(c.acked, op)
			case history.Info:
				c.info++
			}
		}
	}
	checkLinearizable(b, ops, vals)
	for _, id := range sortedKeys(regs) {
		r := regs[id]
		got, in := st.Registers[id]
		switch {
		case !in && r.lastOK != nil:
			v, op := lowestAbove(r.acked, math.MinInt64)
			b.problem("lost", "register %d is missing, but value %d was acknowledged: %s", id, v, b.ctx.Op(*op))
		case !in:
		case r.lastOK != nil && got < r.lastOKV:
			// The first acknowledged value the register lacks decides.
			v, op := lowestAbove(r.acked, got)
			if op.Type == history.Info {
				b.problem("backwards", "register %d reads %d, older than value %d, which an earlier check read back (its write's outcome was unknown): %s", id, got, v, b.ctx.Op(*op))
			} else {
				b.problem("backwards", "register %d reads %d, older than the acknowledged value %d: %s", id, got, v, b.ctx.Op(*op))
			}
		case r.possible[got] == nil && r.failed[got] != nil:
			b.problem("unexpected", "register %d reads %d, written only by a failed op: %s", id, got, b.ctx.Op(*r.failed[got]))
		case r.possible[got] == nil:
			b.problem("unexpected", "register %d reads %d, a value no client wrote", id, got)
		default:
			b.outcome(r.possible[got], true, false) // settles an info write read back
		}
	}
	for _, id := range sortedKeys(st.Registers) {
		if regs[id] == nil {
			b.problem("unexpected", "register %d exists (value %d), but no client ever wrote it", id, st.Registers[id])
		}
	}
	for _, id := range sortedKeys(ctrs) {
		c := ctrs[id]
		got := st.Counters[id]
		switch {
		case got < c.ok:
			b.problem("lost", "counter %d reads %d, but %d increments were acknowledged; %s", id, got, c.ok, b.lastBeforeReset(c.acked))
		case got > c.ok+c.info:
			b.problem("unexpected", "counter %d reads %d, more than the %d acknowledged + %d unknown increments", id, got, c.ok, c.info)
		}
	}
	for _, id := range sortedKeys(st.Counters) {
		if ctrs[id] == nil {
			b.problem("unexpected", "counter %d exists (value %d), but no client ever incremented it", id, st.Counters[id])
		}
	}
	return b.res
}

// lowestAbove returns the smallest value above v in ops, and its op.
func lowestAbove(ops map[int64]*history.Op, v int64) (int64, *history.Op) {
	best, found := int64(0), false
	for w := range ops {
		if w > v && (!found || w < best) {
			best, found = w, true
		}
	}
	return best, ops[best]
}
