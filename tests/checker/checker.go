package checker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
)

// Problem is one violated rule, phrased for the developer who must fix it.
type Problem struct {
	// Kind is a short machine-readable category: lost, unexpected,
	// resurrected, backwards, half-applied, schema, missing-table, ...
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Result is the verdict of one workload's checker.
type Result struct {
	Workload string         `json:"workload"`
	Problems []Problem      `json:"problems,omitempty"`
	Stats    map[string]int `json:"stats,omitempty"`
	// Resolved are info operations this check settled by observation for
	// the first time; the harness records them in the history
	// (history.FResolve) so that later checks hold the database to them.
	Resolved history.Resolution `json:"resolved,omitempty"`
	// Files are explanations to save in the run directory, by file name
	// (the append checker's anomaly reports and cycle graphs).
	Files map[string][]byte `json:"-"`
}

// OK reports whether no rule was violated.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// AckedWrites is the number of acknowledged write operations the check
// covered: the sum of the "<op>-ok" stats every checker keeps for its
// writes. A run whose checks covered none proved nothing for that
// workload.
func (r Result) AckedWrites() int {
	n := 0
	for k, v := range r.Stats {
		if strings.HasSuffix(k, "-ok") {
			n += v
		}
	}
	return n
}

// maxProblemsShown bounds Summary so one lost table does not print ten
// thousand lines; Problems keeps them all for report.json.
const maxProblemsShown = 20

// Summary is a multi-line human-readable verdict.
func (r Result) Summary() string {
	var b strings.Builder
	keys := make([]string, 0, len(r.Stats))
	for k := range r.Stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "%s: ", r.Workload)
	if r.OK() {
		b.WriteString("ok")
	} else {
		fmt.Fprintf(&b, "%d problem(s)", len(r.Problems))
	}
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, r.Stats[k])
	}
	for i, p := range r.Problems {
		if i == maxProblemsShown {
			fmt.Fprintf(&b, "\n  ... %d more (see report.json)", len(r.Problems)-i)
			break
		}
		fmt.Fprintf(&b, "\n  [%s] %s", p.Kind, p.Message)
	}
	return b.String()
}

type builder struct {
	res Result
	ctx *Context
	// resolved: info ops earlier checks settled; lastCrash: index of the
	// last crash completion in the history, or -1.
	resolved  history.Resolution
	lastCrash int64
}

func newBuilder(workload string, h history.History) *builder {
	return &builder{res: Result{Workload: workload, Stats: map[string]int{}}, ctx: NewContext(h),
		resolved: h.Resolutions(workload), lastCrash: h.LastCrashReady()}
}

// outcome is op's outcome as this check judges it. An info op that an
// earlier check settled counts as what that check observed (settled is
// then true). An info op not yet settled is settled now if this check can
// tell: seen in the database, it took effect; missing after the crash that
// ended it, it never will, provided missingMeansNever (nothing else, such
// as a later delete, could have removed it).
func (b *builder) outcome(op *history.Op, seen, missingMeansNever bool) (t history.Type, settled bool) {
	if op.Type != history.Info {
		return op.Type, false
	}
	if took, ok := b.resolved[op.Invoke.Index]; ok {
		if took {
			return history.OK, true
		}
		return history.Fail, true
	}
	switch {
	case seen:
		b.resolve(op, true)
	case missingMeansNever && op.Complete != nil && op.Complete.Index < b.lastCrash:
		b.resolve(op, false)
	}
	return history.Info, false
}

// lastBeforeReset describes the last of ops (in history order) completed
// before the last reset: the op a lost count most likely belongs to, since
// an op acknowledged after the last reset was exposed to no crash.
func (b *builder) lastBeforeReset(ops []*history.Op) string {
	if len(ops) == 0 {
		return "none in the history"
	}
	if n := len(b.ctx.crashes); n > 0 {
		last := b.ctx.crashes[n-1]
		for i := len(ops) - 1; i >= 0; i-- {
			if ops[i].Complete != nil && ops[i].Complete.Index < last.Op.Invoke.Index {
				return fmt.Sprintf("the last acknowledged before reset #%d: %s", last.N, b.ctx.Op(*ops[i]))
			}
		}
	}
	return "the last: " + b.ctx.Op(*ops[len(ops)-1])
}

// resolve records that op's unknown outcome was settled by this check.
func (b *builder) resolve(op *history.Op, tookEffect bool) {
	if b.res.Resolved == nil {
		b.res.Resolved = history.Resolution{}
	}
	b.res.Resolved[op.Invoke.Index] = tookEffect
}

func (b *builder) problem(kind, format string, args ...any) {
	b.res.Problems = append(b.res.Problems, Problem{Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// Context describes operations in terms of the crashes around them.
type Context struct {
	crashes []history.Crash
}

// NewContext indexes h's crashes.
func NewContext(h history.History) *Context {
	return &Context{crashes: h.Crashes()}
}

const clock = "15:04:05.000"

// Op describes op for a failure message: its index, client, function,
// value, outcome and times, and the resets just before and after it, so a
// developer can find the window in the server logs.
func (c *Context) Op(op history.Op) string {
	var b strings.Builder
	fmt.Fprintf(&b, "op #%d (%s, %s %s, invoked %s", op.Invoke.Index, history.ProcessName(op.Process), op.F, compact(op.Invoke.Value), op.Invoke.Time.Format(clock))
	if op.Complete != nil {
		fmt.Fprintf(&b, ", %s at %s", op.Type, op.Complete.Time.Format(clock))
	} else {
		b.WriteString(", never completed")
	}
	if op.Error != "" {
		fmt.Fprintf(&b, ", error %q", op.Error)
	}
	b.WriteString(")")
	b.WriteString(c.around(op.Invoke.Time))
	return b.String()
}

func (c *Context) around(t time.Time) string {
	if len(c.crashes) == 0 {
		return " [no reset in the history]"
	}
	var before, after *history.Crash
	for i := range c.crashes {
		cr := &c.crashes[i]
		if !cr.Requested.After(t) {
			before = cr
		} else if after == nil {
			after = cr
		}
	}
	var parts []string
	if before != nil {
		s := fmt.Sprintf("%.2fs after reset #%d was requested", t.Sub(before.Requested).Seconds(), before.N)
		if !before.Ready.IsZero() {
			s += fmt.Sprintf(" (server ready %s)", before.Ready.Format(clock))
		}
		parts = append(parts, s)
	} else {
		parts = append(parts, "before the first reset")
	}
	if after != nil {
		parts = append(parts, fmt.Sprintf("%.2fs before reset #%d (requested %s)", after.Requested.Sub(t).Seconds(), after.N, after.Requested.Format(clock)))
	} else {
		parts = append(parts, "after the last reset")
	}
	return " [" + strings.Join(parts, "; ") + "]"
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// opsOf returns workload's ops, decoding each value into a T.
func opsOf[T any](h history.History, workload string) ([]history.Op, []T, error) {
	ops := h.OpsOf(workload)
	vals := make([]T, 0, len(ops))
	for _, op := range ops {
		var v T
		if len(op.Invoke.Value) > 0 {
			if err := json.Unmarshal(op.Invoke.Value, &v); err != nil {
				return nil, nil, fmt.Errorf("op #%d: decode %s value %s: %w", op.Invoke.Index, op.F, op.Invoke.Value, err)
			}
		}
		vals = append(vals, v)
	}
	return ops, vals, nil
}

// setupOK reports whether a setup op f of workload was acknowledged, and
// returns it.
func setupOp(ops []history.Op, f string) (history.Op, bool) {
	for _, op := range ops {
		if op.Process == history.SetupProcess && op.F == f {
			return op, true
		}
	}
	return history.Op{}, false
}
