package checker

import (
	"encoding/json"
	"fmt"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// Func judges history h against one workload's state snapshot, as the
// workload's Snapshot wrote it into state.json.
type Func func(h history.History, workload string, state json.RawMessage) Result

// checkers maps each workload name to its checker.
var checkers = map[string]Func{
	model.Set:      decoded(CheckSet),
	model.Register: decoded(CheckRegisters),
	model.Bank:     decoded(CheckBank),
	model.DDL:      decoded(CheckDDL),
	model.GC:       func(h history.History, workload string, _ json.RawMessage) Result { return CheckGC(h, workload) },
	model.Append:   decoded(CheckAppend),
	model.Users:    decoded(CheckUsers),
	model.Remotes:  decoded(CheckRemotes),
}

// For returns the checker of the named workload.
func For(workload string) (Func, error) {
	if f, ok := checkers[workload]; ok {
		return f, nil
	}
	return nil, model.CheckWorkloads([]string{workload})
}

// Check runs the named workload's checker; an unknown workload or an
// undecodable state is reported as a problem of kind "state".
func Check(h history.History, workload string, state json.RawMessage) Result {
	f, err := For(workload)
	if err != nil {
		return Result{Workload: workload, Problems: []Problem{{Kind: "state", Message: err.Error()}}}
	}
	return f(h, workload, state)
}

// decoded adapts a checker of a typed state S to Func.
func decoded[S any](check func(history.History, string, S) Result) Func {
	return func(h history.History, workload string, state json.RawMessage) Result {
		var st S
		if err := json.Unmarshal(state, &st); err != nil {
			return Result{Workload: workload, Problems: []Problem{{Kind: "state", Message: fmt.Sprintf("cannot decode state snapshot: %v", err)}}}
		}
		return check(h, workload, st)
	}
}
