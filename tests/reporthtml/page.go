package reporthtml

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
)

// FileName is the page's name in a run directory.
const FileName = "report.html"

//go:embed page.html.tmpl
var pageText string

var pageTmpl = template.Must(template.New("page").Parse(pageText))

// Input is what a page is rendered from.
type Input struct {
	Report  *report.Report
	History history.History
	// Files are the run directory's files, linked from the header.
	Files []string
	// Note is shown under the header, e.g. that the checks were re-run.
	Note string
	// Explanations are the checkers' explanation files the problems name
	// (an anomaly's text and its cycle graph), shown with the violation.
	Explanations []Explanation
}

// Explanation is one explanation file a problem names ("explained in
// NAME.txt"), with the graph Graphviz rendered next to it, if any.
type Explanation struct {
	Name string
	Text string
	// SVG is NAME.svg from the run directory (Graphviz output), inlined.
	SVG string
}

// explainedIn finds the explanation files a checker message names.
var explainedIn = regexp.MustCompile(`explained in ([A-Za-z0-9_.-]+)\.txt`)

// Bounds on what the page inlines of explanations; the files stay linked.
const (
	maxExplanations   = 5
	maxExplanationTxt = 20 << 10
	maxExplanationSVG = 512 << 10
)

// expectation says, per problem kind (checker.Problem.Kind), what the
// checker expected and what it found; the message has the specifics.
var expectation = map[string][2]string{
	"lost":          {"present: the write was acknowledged (or seen by an earlier check)", "missing after the crash"},
	"unexpected":    {"only what acknowledged or unknown writes explain", "a row or value no such write explains"},
	"resurrected":   {"absent: its delete was acknowledged", "present again"},
	"unstable":      {"as an earlier check observed it", "changed since that check"},
	"backwards":     {"at least the last acknowledged value", "an older value"},
	"half-applied":  {"all of the transaction or none of it", "part of it"},
	"missing-table": {"the table exists: its CREATE TABLE was acknowledged", "the table is gone"},
	"gc-error":      {"GC completes", "GC failed"},
	"history":       {"a well-formed history", "a malformed one (a harness or workload bug, not the server's)"},
}

// problemGroup is the problems of one kind a failing check found: what
// was expected and found once, the first few messages in full, the rest
// folded.
type problemGroup struct {
	Workload, Kind, Expected, Found string
	Count                           int
	First, Rest                     []string
}

// problemsShown is how many messages of a group are shown unfolded.
const problemsShown = 1

// opView is one operation the violation involves.
type opView struct {
	ID                              int64
	Client, Workload, F, Outcome    string
	Invoked, Completed, Latency     string
	Value, Result, Error, ExposedTo string
	InDetail                        bool
}

// pageView is one page of the timeline.
type pageView struct {
	N         int
	From, To  string
	Ops       int
	Crashes   string
	Violation bool
	Open      bool
	SVG       template.HTML
}

// crashRow is one crash in the recovery table.
type crashRow struct {
	N                                     int
	At, Down, AgentBack, Ready, ServerOwn string
	Detail                                string
}

// resultRow is one workload's check result.
type resultRow struct {
	Workload, Stats string
	OK              bool
	Problems        int
}

// view is what page.html.tmpl renders.
type view struct {
	Verdict, Test, Target, FS, Nemesis, Fault, Backend string
	Seed, Started, Duration, Cycles, Repro, Note       string
	OpsOK, OpsFail, OpsInfo                            int
	Files                                              []string
	Failure, Panic, Inconclusive                       string
	Problems                                           []problemGroup
	Explanations                                       []explanationView
	ViolOps                                            []opView
	FaultBefore                                        string
	Overview                                           template.HTML
	Lanes                                              int
	DetailNote                                         string
	Pages                                              []pageView
	PlotHTML                                           []template.HTML
	Recovery                                           template.HTML
	Crashes                                            []crashRow
	Results                                            []resultRow
	ChecksLine                                         string
	Generated                                          string
}

// explanationView is an Explanation ready for the template.
type explanationView struct {
	Name, Text string
	SVG        template.HTML
}

// maxProblemsListed bounds the messages listed per group; report.json
// has them all.
const maxProblemsListed = 50

func problemGroups(rep *report.Report) []problemGroup {
	var groups []problemGroup
	for _, res := range rep.Results {
		at := map[string]int{}
		for _, p := range res.Problems {
			i, ok := at[p.Kind]
			if !ok {
				e, known := expectation[p.Kind]
				if !known {
					e = [2]string{"the " + res.Workload + " checker's rule holds", p.Kind}
				}
				i = len(groups)
				at[p.Kind] = i
				groups = append(groups, problemGroup{Workload: res.Workload, Kind: p.Kind, Expected: e[0], Found: e[1]})
			}
			g := &groups[i]
			g.Count++
			switch {
			case len(g.First) < problemsShown:
				g.First = append(g.First, p.Message)
			case len(g.Rest) < maxProblemsListed:
				g.Rest = append(g.Rest, p.Message)
			}
		}
	}
	return groups
}

// Render writes the page for in to w.
func Render(w io.Writer, in Input, opts ...Option) error {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	rep := in.Report
	r := analyse(rep, in.History)
	v := view{
		Verdict: string(rep.Verdict()), Test: rep.Test, Target: orDash(r.flag("crash.target")), FS: orDash(r.fsConfig()),
		Backend: r.flag("crash.backend"), Fault: r.flag("crash.fault"),
		Seed: fmt.Sprint(rep.Seed), Started: rep.Started.UTC().Format(time.RFC3339),
		Duration: rep.Elapsed.Round(time.Millisecond).String(), Repro: rep.Repro, Note: in.Note,
		OpsOK: rep.Ops["ok"], OpsFail: rep.Ops["fail"], OpsInfo: rep.Ops["info"],
		Files: in.Files, Failure: rep.Failure, Panic: truncate(rep.Panic, 4000), Inconclusive: rep.Inconclusive,
		Lanes: len(r.lanes), Generated: time.Now().UTC().Format(time.RFC3339),
	}
	v.Cycles = fmt.Sprint(rep.Cycles)
	if rep.MinCycles > 0 {
		v.Cycles += fmt.Sprintf(" (minimum %d)", rep.MinCycles)
	}
	v.Nemesis = nemesisText(r)
	v.Problems = problemGroups(rep)
	for _, e := range in.Explanations {
		v.Explanations = append(v.Explanations, explanationView{Name: e.Name, Text: e.Text, SVG: template.HTML(e.SVG)})
	}
	pages := r.detailSpans(o)
	for _, id := range r.violating {
		if op, ok := r.op(id); ok {
			v.ViolOps = append(v.ViolOps, r.opView(op, pages))
		}
	}
	if fa := rep.FailedAt; fa > 0 && fa <= len(r.crashes) {
		v.FaultBefore = r.crashes[fa-1].describe()
	} else if rep.Failed() && len(r.crashes) > 0 {
		v.FaultBefore = r.crashes[len(r.crashes)-1].describe()
	}
	v.Overview = template.HTML(r.overviewSVG(o, pages))
	v.DetailNote = fmt.Sprintf("all %d operations", len(r.ops))
	if n := opsCovered(pages); n < len(r.ops) {
		v.DetailNote = fmt.Sprintf("%d of %d operations, around the violation (or the end of the run); the overview above aggregates the rest", n, len(r.ops))
	}
	openAny := false
	for i, p := range pages {
		pv := r.pageView(i+1, p)
		if pv.Violation {
			pv.Open, openAny = true, true
		}
		v.Pages = append(v.Pages, pv)
	}
	if !openAny && len(v.Pages) > 0 {
		// Without a violation the end of the run is where a finding is.
		v.Pages[len(v.Pages)-1].Open = true
	}
	plots, err := r.plotsFor(o)
	if err != nil {
		return err
	}
	for _, p := range plots {
		v.PlotHTML = append(v.PlotHTML, template.HTML(p.Throughput), template.HTML(p.Latency))
	}
	rec, err := r.recoveryPlot()
	if err != nil {
		return err
	}
	v.Recovery = template.HTML(rec)
	for _, c := range r.crashes {
		row := crashRow{N: c.n, At: fmt.Sprintf("%.3fs", c.from.Sub(r.t0).Seconds()), Detail: c.cr.Detail}
		if c.hasReport {
			row.Down, row.AgentBack, row.Ready = dur(c.cr.Down), dur(c.cr.AgentBack), dur(c.cr.Ready)
			if c.cr.RecoveryReported || c.cr.ServerRecovery > 0 {
				row.ServerOwn = c.cr.ServerRecovery.Round(time.Millisecond).String()
			}
		}
		if !c.recovered {
			row.Ready = "never"
		}
		v.Crashes = append(v.Crashes, row)
	}
	for _, res := range rep.Results {
		v.Results = append(v.Results, resultRow{Workload: res.Workload, OK: res.OK(), Problems: len(res.Problems), Stats: statsText(res)})
	}
	v.ChecksLine = checksLine(r.checks)
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("render report.html: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

func (r *run) opView(op history.Op, pages []span) opView {
	ov := opView{ID: op.Invoke.Index, Client: history.ProcessName(op.Process), Workload: op.Workload, F: op.F, Outcome: string(op.Type),
		Invoked: r.stamp(op.Invoke.Time), Value: valueText(op.Invoke.Value, 300), Error: op.Error}
	if op.Complete != nil {
		ov.Completed = r.stamp(op.Complete.Time)
		ov.Latency = dur(op.Complete.Time.Sub(op.Invoke.Time))
		if !bytes.Equal(op.Complete.Value, op.Invoke.Value) {
			ov.Result = valueText(op.Complete.Value, 300)
		}
	} else {
		ov.Completed = "never"
	}
	if c := r.crashAfter(r.end(op)); c != nil {
		ov.ExposedTo = fmt.Sprintf("#%d, +%.3fs", c.n, c.from.Sub(r.end(op)).Seconds())
	} else {
		ov.ExposedTo = "none"
	}
	i := sort.Search(len(r.ops), func(i int) bool { return r.ops[i].Invoke.Index >= op.Invoke.Index })
	for _, p := range pages {
		ov.InDetail = ov.InDetail || (i >= p.from && i < p.to)
	}
	return ov
}

func (r *run) pageView(n int, p span) pageView {
	from, to := r.pageRange(p)
	pv := pageView{N: n, From: fmt.Sprintf("%.3fs", from.Sub(r.t0).Seconds()), To: fmt.Sprintf("%.3fs", to.Sub(r.t0).Seconds()), Ops: p.to - p.from}
	var crashes []string
	for _, c := range r.crashes {
		if !c.to.Before(from) && !c.from.After(to) {
			crashes = append(crashes, fmt.Sprintf("#%d", c.n))
		}
	}
	pv.Crashes = strings.Join(crashes, " ")
	for _, op := range r.ops[p.from:p.to] {
		pv.Violation = pv.Violation || r.isViol[op.Invoke.Index]
	}
	pv.SVG = template.HTML(r.pageSVG(p))
	return pv
}

// stamp is a time as clock time and seconds since the run's start.
func (r *run) stamp(t time.Time) string {
	return fmt.Sprintf("+%.3fs (%s)", t.Sub(r.t0).Seconds(), t.UTC().Format(clock))
}

func nemesisText(r *run) string {
	var s string
	switch r.flag("crash.backend") {
	case "vm":
		s = "VM hard reset (QMP system_reset)"
	case "local":
		s = "kill -9 and restart (local process)"
	default:
		s = orDash(r.flag("crash.backend"))
	}
	// The backend's note on a crash, e.g. the torn journal record the
	// local nemesis appended.
	for _, c := range r.crashes {
		if c.cr.Detail != "" {
			s += fmt.Sprintf("; reset #%d: %s", c.n, c.cr.Detail)
			break
		}
	}
	return s
}

func statsText(res checker.Result) string {
	keys := make([]string, 0, len(res.Stats))
	for k := range res.Stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, res.Stats[k])
	}
	return strings.Join(parts, " ")
}

func checksLine(checks []checkEntry) string {
	if len(checks) == 0 {
		return "no check was logged in the history"
	}
	bad := []string{}
	for _, c := range checks {
		if !c.OK {
			bad = append(bad, checkWhen(c))
		}
	}
	s := fmt.Sprintf("%d checks ran (after each reset and at the end)", len(checks))
	if len(bad) > 0 {
		s += "; failed: " + strings.Join(bad, ", ")
	} else {
		s += "; all passed"
	}
	return s
}

func dur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.Round(time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Write renders the page for a run directory from the report and history
// in memory (the harness's, at the end of a run) to dir/report.html.
func Write(dir string, rep *report.Report, h history.History, opts ...Option) (string, error) {
	return write(dir, Input{Report: rep, History: h}, opts...)
}

// Rewrite renders dir/report.html again from the files a run saved, so an
// old run gets the current page. Non-nil results (an offline re-check,
// report.Recheck) replace the saved ones.
func Rewrite(dir string, results []checker.Result, opts ...Option) (string, error) {
	rep, err := report.Read(dir)
	if err != nil {
		return "", err
	}
	h, _, err := history.ReadFile(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		return "", err
	}
	in := Input{Report: rep, History: h}
	if results != nil {
		rep.Results = results
		in.Note = "Checks re-run offline (-crash.check) at " + time.Now().UTC().Format(time.RFC3339) + "; the failure line and the timings are the original run's."
	}
	return write(dir, in, opts...)
}

func write(dir string, in Input, opts ...Option) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("list run directory: %w", err)
	}
	for _, e := range entries {
		if n := e.Name(); n != FileName && !strings.HasSuffix(n, ".tmp") {
			in.Files = append(in.Files, n)
		}
	}
	in.Explanations = readExplanations(dir, in.Report)
	path := filepath.Join(dir, FileName)
	var buf bytes.Buffer
	if err := Render(&buf, in, opts...); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", FileName, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("rename %s: %w", FileName, err)
	}
	return path, nil
}

// readExplanations loads the explanation files the failing checks name
// from dir: the text, and the Graphviz SVG beside it (without its XML
// prolog, so it can be inlined). Files too large to inline stay linked.
func readExplanations(dir string, rep *report.Report) []Explanation {
	var out []Explanation
	seen := map[string]bool{}
	for _, res := range rep.Results {
		for _, p := range res.Problems {
			for _, m := range explainedIn.FindAllStringSubmatch(p.Message, -1) {
				name := m[1]
				if seen[name] || len(out) == maxExplanations {
					continue
				}
				seen[name] = true
				txt, err := os.ReadFile(filepath.Join(dir, name+".txt"))
				if err != nil {
					continue
				}
				e := Explanation{Name: name + ".txt", Text: truncate(string(txt), maxExplanationTxt)}
				if svg, err := os.ReadFile(filepath.Join(dir, name+".svg")); err == nil && len(svg) <= maxExplanationSVG {
					if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
						e.SVG = string(svg[i:])
					}
				}
				out = append(out, e)
			}
		}
	}
	return out
}
