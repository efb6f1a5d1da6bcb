package checker

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckDDL checks that every object is in the state its acknowledged
// prefix of DDL left it, or the state after the one following unknown op.
// The DDL worker abandons an object after its first non-ok op, so there is
// at most one such op per object.
func CheckDDL(h history.History, workload string, st model.DDLState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.DDLValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	type obj struct {
		kind    string
		lastOK  int
		okOps   []*history.Op // by step
		unknown *history.Op   // the info op right after lastOK, if any
		done    bool          // a non-ok op ended the sequence
	}
	objs := map[string]*obj{}
	var names []string
	for i := range ops {
		op, v := &ops[i], vals[i]
		if op.F != model.FDDL {
			continue
		}
		b.res.Stats["ddl-"+string(op.Type)]++
		o := objs[v.Obj]
		if o == nil {
			o = &obj{kind: v.Kind, lastOK: -1}
			objs[v.Obj] = o
			names = append(names, v.Obj)
		}
		if o.done || v.Step != o.lastOK+1 {
			b.problem("history", "object %s: op #%d runs step %d after step %d (workload bug)", v.Obj, op.Invoke.Index, v.Step, o.lastOK)
			continue
		}
		switch op.Type {
		case history.OK:
			o.lastOK, o.okOps = v.Step, append(o.okOps, op)
		case history.Info:
			o.unknown, o.done = op, true
		default:
			o.done = true
		}
	}
	sort.Strings(names)
	for _, name := range names {
		o := objs[name]
		got, exists := st.Objects[name]
		var gotp *model.ObjState
		if exists {
			gotp = &got
		}
		want := model.ExpectAfter(o.kind, o.lastOK)
		if equalObj(gotp, want) {
			continue
		}
		if o.unknown != nil && equalObj(gotp, model.ExpectAfter(o.kind, o.lastOK+1)) {
			continue
		}
		msg := fmt.Sprintf("%s %s is %s, but the acknowledged DDL leaves it %s", o.kind, name, describeObj(gotp), describeObj(want))
		kind := "schema"
		if k, ok := earlierStep(o.kind, gotp, o.lastOK); ok {
			// The object is as an acknowledged prefix left it: the steps
			// after that prefix were lost, and the first of them decides.
			kind = "lost"
			as := fmt.Sprintf("as step %d left it", k)
			if k < 0 {
				as = "as before its first step"
			}
			msg += fmt.Sprintf("; it is %s, so the acknowledged step %d %q was lost: %s", as, k+1, model.Lifecycles[o.kind][k+1].SQL, b.ctx.Op(*o.okOps[k+1]))
		} else if o.lastOK >= 0 {
			msg += fmt.Sprintf("; last acknowledged step %d %q: %s", o.lastOK, model.Lifecycles[o.kind][o.lastOK].SQL, b.ctx.Op(*o.okOps[o.lastOK]))
		}
		if o.unknown != nil {
			msg += fmt.Sprintf("; nor does it match %s after the unknown-outcome %s", describeObj(model.ExpectAfter(o.kind, o.lastOK+1)), b.ctx.Op(*o.unknown))
		}
		if gotp == nil {
			kind = "lost"
		}
		b.problem(kind, "%s", msg)
	}
	extra := make([]string, 0)
	for name := range st.Objects {
		if objs[name] == nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		o := st.Objects[name]
		b.problem("unexpected", "%s %s exists (%s), but no client ever created it", o.Kind, name, describeObj(&o))
	}
	b.res.Stats["objects"] = len(st.Objects)
	return b.res
}

// earlierStep finds the acknowledged step k < lastOK (-1: before the
// first) whose expected state got is, the latest such.
func earlierStep(kind string, got *model.ObjState, lastOK int) (int, bool) {
	for k := lastOK - 1; k >= -1; k-- {
		if equalObj(got, model.ExpectAfter(kind, k)) {
			return k, true
		}
	}
	return 0, false
}

func equalObj(a, b *model.ObjState) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	norm := func(o model.ObjState) model.ObjState {
		if len(o.Columns) == 0 {
			o.Columns = nil
		}
		if len(o.Indexes) == 0 {
			o.Indexes = nil
		}
		if len(o.Tables) == 0 {
			o.Tables = nil
		}
		return o
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

func describeObj(o *model.ObjState) string {
	if o == nil {
		return "absent"
	}
	if o.Kind == model.KindDatabase || o.Kind == model.KindUndropDatabase {
		return fmt.Sprintf("present with tables %v and %d rows in t", o.Tables, o.Rows)
	}
	return fmt.Sprintf("present with columns %v, indexes %v, %d rows (sum a=%d, sum b=%d)", o.Columns, o.Indexes, o.Rows, o.SumA, o.SumB)
}
