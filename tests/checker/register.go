package checker

import (
	"github.com/crashrig/crashrig/tests/history"
)

// RegisterValue is the value of a "write" (ID := V) or "incr" (counter ID
// += 1) op.
type RegisterValue struct {
	ID int64 `json:"id"`
	V  int64 `json:"v,omitempty"`
}

// RegisterState is the register and counter tables read back.
type RegisterState struct {
	Missing   bool            `json:"missing,omitempty"`
	Registers map[int64]int64 `json:"registers"`
	Counters  map[int64]int64 `json:"counters"`
}

// Register function names.
const (
	FWrite = "write"
	FIncr  = "incr"
)

// CheckRegisters checks registers and counters.
//
// Each register is owned by one client, which writes strictly increasing
// values with a monotonic upsert (a late, stale write cannot lower it). The
// value read back must be >= the last acknowledged write and equal to a
// value some write attempted and did not definitely fail.
//
// A counter is incremented by 1 per op: its value must lie between the
// number of ok'd increments and that plus the number of unknown ones.
func CheckRegisters(h history.History, workload string, st RegisterState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[RegisterValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	if setup, ok := setupOp(ops, FSetupTable); ok && setup.Type == history.OK && st.Missing {
		b.problem("missing-table", "the register/counter tables are gone, but their CREATE TABLE was acknowledged: %s", b.ctx.Op(setup))
	}
	type reg struct {
		lastOK   *history.Op
		lastOKV  int64
		observed bool                  // lastOK is an info write an earlier check saw
		possible map[int64]*history.Op // ok or info writes by value
		failed   map[int64]*history.Op
	}
	type ctr struct {
		ok, info int64
		lastOK   *history.Op
	}
	regs := map[int64]*reg{}
	ctrs := map[int64]*ctr{}
	for i := range ops {
		op, v := &ops[i], vals[i]
		switch op.F {
		case FWrite:
			b.res.Stats["write-"+string(op.Type)]++
			r := regs[v.ID]
			if r == nil {
				r = &reg{possible: map[int64]*history.Op{}, failed: map[int64]*history.Op{}}
				regs[v.ID] = r
			}
			switch op.Type {
			case history.OK:
				r.possible[v.V] = op
				if r.lastOK == nil || v.V > r.lastOKV {
					r.lastOK, r.lastOKV, r.observed = op, v.V, false
				}
			case history.Info:
				r.possible[v.V] = op
				if b.resolved[op.Invoke.Index] && (r.lastOK == nil || v.V > r.lastOKV) {
					r.lastOK, r.lastOKV, r.observed = op, v.V, true
				}
			case history.Fail:
				r.failed[v.V] = op
			}
		case FIncr:
			b.res.Stats["incr-"+string(op.Type)]++
			c := ctrs[v.ID]
			if c == nil {
				c = &ctr{}
				ctrs[v.ID] = c
			}
			switch op.Type {
			case history.OK:
				c.ok++
				c.lastOK = op
			case history.Info:
				c.info++
			}
		}
	}
	for _, id := range sortedKeys(regs) {
		r := regs[id]
		got, in := st.Registers[id]
		switch {
		case !in && r.lastOK != nil:
			b.problem("lost", "register %d is missing, but value %d was acknowledged: %s", id, r.lastOKV, b.ctx.Op(*r.lastOK))
		case !in:
		case r.lastOK != nil && got < r.lastOKV && r.observed:
			b.problem("backwards", "register %d reads %d, older than value %d, which an earlier check read back (its write's outcome was unknown): %s", id, got, r.lastOKV, b.ctx.Op(*r.lastOK))
		case r.lastOK != nil && got < r.lastOKV:
			b.problem("backwards", "register %d reads %d, older than the acknowledged value %d: %s", id, got, r.lastOKV, b.ctx.Op(*r.lastOK))
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
			msg := "counter %d reads %d, but %d increments were acknowledged"
			if c.lastOK != nil {
				b.problem("lost", msg+"; the last: %s", id, got, c.ok, b.ctx.Op(*c.lastOK))
			} else {
				b.problem("lost", msg, id, got, c.ok)
			}
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
