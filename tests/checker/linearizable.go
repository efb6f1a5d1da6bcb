package checker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// regInput is a register op as porcupine sees it.
type regInput struct {
	write bool
	v     int64
}

// registerModel is one register under the workload's monotonic upsert: a
// write leaves the larger of the old and the written value; a read returns
// the value (0 before any write).
var registerModel = porcupine.Model{
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(int64), input.(regInput)
		if in.write {
			return true, max(s, in.v)
		}
		return output.(int64) == s, s
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return fmt.Sprintf("write(%d)", in.v)
		}
		return fmt.Sprintf("read() -> %d", output.(int64))
	},
	DescribeState: func(state any) string { return strconv.FormatInt(state.(int64), 10) },
}

// linearizabilityTimeout bounds porcupine's search per register; a
// register it cannot decide in time is counted, not reported.
const linearizabilityTimeout = 10 * time.Second

// maxVisualizations bounds the HTML files one check writes.
const maxVisualizations = 5

// checkLinearizable checks each register's reads and writes during the run
// for linearizability with porcupine. Times are history indexes (the
// recorder orders entries as they happen). A failed write never happened
// and is left out; an info write may take effect at any time after its
// invoke (its return is open-ended), and an info read says nothing. The
// state read back after the run is judged by CheckRegisters' durability
// rules, not here.
//
// An info write whose value no read returned is left out as well: under
// the max semantics a history is linearizable with it (placed last) exactly
// when it is without it, and each such open-ended write (one per crash and
// client) would multiply porcupine's search space.
func checkLinearizable(b *builder, ops []history.Op, vals []model.RegisterValue) {
	byReg := map[int64][]porcupine.Operation{}
	results := make(map[int]int64, len(ops))
	seen := map[[2]int64]bool{}
	for i := range ops {
		if op := &ops[i]; op.F == model.FRead && op.Type == history.OK {
			var got model.RegisterValue
			if err := json.Unmarshal(op.Value, &got); err != nil {
				b.problem("history", "op #%d: decode read result %s: %v", op.Invoke.Index, op.Value, err)
				return
			}
			results[i] = got.V
			seen[[2]int64{vals[i].ID, got.V}] = true
		}
	}
	reads := 0
	for i := range ops {
		op, v := &ops[i], vals[i]
		call := op.Invoke.Index
		ret := int64(math.MaxInt64)
		if op.Complete != nil && op.Type != history.Info {
			ret = op.Complete.Index
		}
		switch {
		case op.F == model.FWrite && (op.Type == history.OK || op.Type == history.Info && seen[[2]int64{v.ID, v.V}]):
			byReg[v.ID] = append(byReg[v.ID], porcupine.Operation{ClientId: op.Process, Input: regInput{write: true, v: v.V}, Call: call, Output: int64(0), Return: ret})
		case op.F == model.FRead && op.Type == history.OK:
			reads++
			byReg[v.ID] = append(byReg[v.ID], porcupine.Operation{ClientId: op.Process, Input: regInput{}, Call: call, Output: results[i], Return: ret})
		}
	}
	if reads == 0 {
		return // histories from before the reads existed re-check unchanged
	}
	b.res.Stats["reads"] = reads // not "-ok": AckedWrites sums those
	shown := 0
	for _, id := range sortedKeys(byReg) {
		hist := byReg[id]
		res, info := porcupine.CheckOperationsVerbose(registerModel, hist, linearizabilityTimeout)
		switch res {
		case porcupine.Unknown:
			b.res.Stats["linearizability-unknown"]++
			continue
		case porcupine.Ok:
			continue
		}
		msg := fmt.Sprintf("register %d: its reads and writes during the run are not linearizable (porcupine found no order of them)", id)
		if s := staleRead(b, ops, vals, id); s != "" {
			msg += "; " + s
		}
		if shown < maxVisualizations {
			var html bytes.Buffer
			if err := porcupine.Visualize(registerModel, info, &html); err == nil {
				name := fmt.Sprintf("register-%d-linearizability.html", id)
				if b.res.Files == nil {
					b.res.Files = map[string][]byte{}
				}
				b.res.Files[name] = html.Bytes()
				msg += " (porcupine's visualization: " + name + ")"
				shown++
			}
		}
		b.problem("nonlinearizable", "%s", msg)
	}
}

// staleRead names the first read of register id that returned less than a
// write acknowledged before the read was invoked, the usual way a register
// history fails to linearize here.
func staleRead(b *builder, ops []history.Op, vals []model.RegisterValue, id int64) string {
	var (
		best   int64
		bestOp *history.Op
	)
	type done struct {
		at int64
		v  int64
		op *history.Op
	}
	var acked []done
	for i := range ops {
		op := &ops[i]
		if vals[i].ID != id || op.Complete == nil || op.Type != history.OK {
			continue
		}
		switch op.F {
		case model.FWrite:
			acked = append(acked, done{op.Complete.Index, vals[i].V, op})
		case model.FRead:
			best, bestOp = 0, nil
			for _, w := range acked {
				if w.at < op.Invoke.Index && w.v > best {
					best, bestOp = w.v, w.op
				}
			}
			var got model.RegisterValue
			if json.Unmarshal(op.Value, &got) == nil && bestOp != nil && got.V < best {
				return fmt.Sprintf("%s read %d, but %d was acknowledged before it was invoked: %s", b.ctx.Op(*op), got.V, best, b.ctx.Op(*bestOp))
			}
		}
	}
	return ""
}
