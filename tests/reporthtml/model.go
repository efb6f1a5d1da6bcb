package reporthtml

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
)

// options are the page's size knobs.
type options struct {
	// detailOps bounds the operations drawn one by one in the timeline
	// pages; the rest of a long run is only in the aggregated overview.
	detailOps int
	// pageOps is the most operations one timeline page shows.
	pageOps int
	// bins is the number of time bins of the overview and the plots.
	bins int
}

// Option changes how a page is rendered.
type Option func(*options)

// DetailOps bounds the operations drawn one by one (default 6000).
func DetailOps(n int) Option { return func(o *options) { o.detailOps = max(n, 1) } }

// PageOps is the most operations one timeline page shows (default 1500).
func PageOps(n int) Option { return func(o *options) { o.pageOps = max(n, 1) } }

func defaultOptions() options { return options{detailOps: 6000, pageOps: 1500, bins: 240} }

// lane is one row of the timeline: a client (or the setup process).
type lane struct {
	process  int
	workload string
}

func (l lane) label() string {
	if l.process == history.SetupProcess {
		return "setup"
	}
	return fmt.Sprintf("client %d %s", l.process, l.workload)
}

// crashBand is one crash: from the reset request until the server answered
// again (or the end of the run if it never did).
type crashBand struct {
	n         int
	from, to  time.Time
	recovered bool
	cr        report.CrashReport
	hasReport bool
}

func (c crashBand) describe() string {
	s := fmt.Sprintf("reset #%d at %s", c.n, c.from.Format(clock))
	if !c.recovered {
		s += ": the server did not come back"
	} else if c.hasReport {
		s += ": " + c.cr.Timeline()
	} else {
		s += fmt.Sprintf(": ready after %v", c.to.Sub(c.from).Round(time.Millisecond))
	}
	if c.cr.Detail != "" {
		s += "; " + c.cr.Detail
	}
	return s
}

const clock = "15:04:05.000"

// run is a run directory analysed for the page.
type run struct {
	rep    *report.Report
	t0, t1 time.Time
	// ops are the client and setup operations in invoke order.
	ops     []history.Op
	lanes   []lane
	laneOf  map[int]int
	crashes []crashBand
	// faults are the nemesis's other operations (anything but a crash,
	// e.g. a power cut or an I/O fault), from invoke to completion.
	faults []history.Op
	// violating are the invoke indices of the operations the failing
	// checks name, in the order they are named.
	violating []int64
	isViol    map[int64]bool
	checks    []checkEntry
	workloads []string
}

// checkEntry is one check the harness logged in the history.
type checkEntry struct {
	Cycle        int   `json:"cycle"`
	OK           bool  `json:"ok"`
	HistoryIndex int64 `json:"history_index"`
	at           time.Time
}

// opRef finds the operations a checker message names: checker.Context.Op
// writes each as "op #<invoke index> (...)".
var opRef = regexp.MustCompile(`\bop #(\d+)\b`)

// maxViolating bounds the operations the violation section lists.
const maxViolating = 10

func analyse(rep *report.Report, h history.History) *run {
	r := &run{rep: rep, laneOf: map[int]int{}, isViol: map[int64]bool{}}
	r.t0, r.t1 = rep.Started, rep.Started.Add(rep.Elapsed)
	if len(h) > 0 {
		if r.t0.IsZero() || h[0].Time.Before(r.t0) {
			r.t0 = h[0].Time
		}
		if last := h[len(h)-1].Time; last.After(r.t1) {
			r.t1 = last
		}
	}
	if !r.t1.After(r.t0) {
		r.t1 = r.t0.Add(time.Second)
	}
	r.ops = h.OpsWhere(func(e history.Entry) bool { return e.Process >= 0 || e.Process == history.SetupProcess })
	// Workloads in the order the checks report them, then any other.
	seen := map[string]bool{}
	for _, res := range rep.Results {
		if !seen[res.Workload] {
			seen[res.Workload] = true
			r.workloads = append(r.workloads, res.Workload)
		}
	}
	for _, op := range r.ops {
		if _, ok := r.laneOf[op.Process]; !ok {
			r.laneOf[op.Process] = -1
			r.lanes = append(r.lanes, lane{process: op.Process, workload: op.Workload})
		}
		if op.Process >= 0 && op.Workload != "" && !seen[op.Workload] {
			seen[op.Workload] = true
			r.workloads = append(r.workloads, op.Workload)
		}
	}
	// Setup first, then clients by id.
	sort.Slice(r.lanes, func(i, j int) bool {
		a, b := r.lanes[i].process, r.lanes[j].process
		if (a < 0) != (b < 0) {
			return a < 0
		}
		return a < b
	})
	for i, l := range r.lanes {
		r.laneOf[l.process] = i
	}
	for _, c := range h.Crashes() {
		b := crashBand{n: c.N, from: c.Requested, to: c.Ready, recovered: !c.Ready.IsZero()}
		if !b.recovered {
			b.to = r.t1
		}
		if c.Op.Complete != nil && json.Unmarshal(c.Op.Complete.Value, &b.cr) == nil && !b.cr.Requested.IsZero() {
			b.hasReport = true
		} else if c.N-1 < len(rep.Recoveries) {
			b.cr, b.hasReport = rep.Recoveries[c.N-1], true
		}
		r.crashes = append(r.crashes, b)
	}
	r.faults = h.OpsWhere(func(e history.Entry) bool { return e.Process == history.NemesisProcess && e.F != history.FCrash })
	// The first op of every kind of problem first, then the others, so
	// that a hundred lost keys do not crowd out the one lost table.
	firstOfKind := map[string]bool{}
	for pass := 0; pass < 2; pass++ {
		for _, res := range rep.Results {
			for _, p := range res.Problems {
				key := res.Workload + "/" + p.Kind
				if (pass == 0) == firstOfKind[key] {
					continue
				}
				firstOfKind[key] = true
				for _, m := range opRef.FindAllStringSubmatch(p.Message, -1) {
					id, err := strconv.ParseInt(m[1], 10, 64)
					if err == nil && !r.isViol[id] && len(r.violating) < maxViolating {
						r.isViol[id] = true
						r.violating = append(r.violating, id)
					}
				}
			}
		}
	}
	for _, e := range h {
		if e.Process == history.CheckerProcess && e.F == history.FCheck {
			var c checkEntry
			if json.Unmarshal(e.Value, &c) == nil {
				c.at = e.Time
				r.checks = append(r.checks, c)
			}
		}
	}
	return r
}

// op returns the operation with invoke index id.
func (r *run) op(id int64) (history.Op, bool) {
	i := sort.Search(len(r.ops), func(i int) bool { return r.ops[i].Invoke.Index >= id })
	if i < len(r.ops) && r.ops[i].Invoke.Index == id {
		return r.ops[i], true
	}
	return history.Op{}, false
}

// end is when op completed, or the end of the run if it never did.
func (r *run) end(op history.Op) time.Time {
	if op.Complete != nil {
		return op.Complete.Time
	}
	return r.t1
}

// crashAfter is the first crash requested after t, or nil.
func (r *run) crashAfter(t time.Time) *crashBand {
	for i := range r.crashes {
		if r.crashes[i].from.After(t) {
			return &r.crashes[i]
		}
	}
	return nil
}

// flag returns the value of -name in the report's repro flags.
func (r *run) flag(name string) string {
	prefix := "-" + name + "="
	for _, f := range reproFlags(r.rep) {
		if v, ok := strings.CutPrefix(f, prefix); ok {
			return v
		}
	}
	return ""
}

// reproFlags reads Config["flags"]: []string live, []any from report.json.
func reproFlags(rep *report.Report) []string {
	switch v := rep.Config["flags"].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// fsConfig is the filesystem config of the run: a TestCrash subtest is
// named after it; otherwise the -crash.fs list.
func (r *run) fsConfig() string {
	list := r.flag("crash.fs")
	parts := strings.Split(r.rep.Test, "/")
	last := parts[len(parts)-1]
	for _, fs := range strings.Split(list, ",") {
		if fs == last {
			return fs
		}
	}
	return list
}

// span is a range of r.ops drawn one by one: [from, to).
type span struct{ from, to int }

// detailSpans picks the operations drawn one by one: all of them if they
// fit the budget, else windows around the focus points (the violating
// operations and the reset after which the failure was found; the end of
// the run when there is none), then cut into pages.
func (r *run) detailSpans(o options) []span {
	n := len(r.ops)
	if n == 0 {
		return nil
	}
	var windows []span
	if n <= o.detailOps {
		windows = []span{{0, n}}
	} else {
		var focus []int
		for _, id := range r.violating {
			i := sort.Search(n, func(i int) bool { return r.ops[i].Invoke.Index >= id })
			if i < n {
				focus = append(focus, i)
			}
		}
		if fa := r.rep.FailedAt; fa > 0 && fa <= len(r.crashes) {
			t := r.crashes[fa-1].from
			focus = append(focus, sort.Search(n, func(i int) bool { return !r.ops[i].Invoke.Time.Before(t) }))
		}
		if len(focus) == 0 {
			focus = []int{n - 1}
		}
		sort.Ints(focus)
		w := max(o.detailOps/len(focus), o.pageOps/2)
		for _, f := range focus {
			s := span{max(0, f-w/2), min(n, f-w/2+w)}
			if s.to == n {
				s.from = max(0, n-w)
			}
			if k := len(windows) - 1; k >= 0 && s.from <= windows[k].to {
				windows[k].to = max(windows[k].to, s.to)
				continue
			}
			windows = append(windows, s)
		}
	}
	var pages []span
	for _, w := range windows {
		for from := w.from; from < w.to; from += o.pageOps {
			pages = append(pages, span{from, min(w.to, from+o.pageOps)})
		}
	}
	return pages
}

// opsCovered is the number of operations the spans draw.
func opsCovered(spans []span) int {
	n := 0
	for _, s := range spans {
		n += s.to - s.from
	}
	return n
}

// valueText shortens a JSON value for a tooltip or a table cell.
func valueText(raw json.RawMessage, limit int) string {
	s := string(raw)
	if s == "" {
		return "{}"
	}
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
