package reporthtml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
)

// parse renders s and parses the page as HTML. With
// $CRASHRIG_REPORT_SAMPLES set, the page is also saved there as name.html
// (to look at, or for screenshot.sh).
func parse(t *testing.T, name string, s synthetic, opts ...Option) (*html.Node, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, Input{Report: s.rep, History: s.h, Files: []string{report.HistoryFile, report.ReportFile}}, opts...); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("CRASHRIG_REPORT_SAMPLES"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".html"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("parse report.html: %v", err)
	}
	return doc, buf.String()
}

// find returns the first element below n that matches.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, match); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "id") == id }
}

func hasClass(n *html.Node, class string) bool {
	return strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

// TestRenderStructure renders a passing and a failing run and checks the
// page's structure: the verdict, the crash bands in the timeline, and for
// the failure the violating op highlighted in the timeline, listed in the
// violation section and marked in the overview.
func TestRenderStructure(t *testing.T) {
	pass := synth(4000, 400, false)
	fail := synth(4000, 400, true)
	if fail.violating < 0 {
		t.Fatal("synthetic failing run has no violating op")
	}
	for _, tc := range []struct {
		name string
		s    synthetic
	}{{"passing", pass}, {"failing", fail}} {
		t.Run(tc.name, func(t *testing.T) {
			doc, page := parse(t, tc.name, tc.s)
			verdict := find(doc, func(n *html.Node) bool { return hasClass(n, "verdict") })
			if verdict == nil || verdict.FirstChild == nil || verdict.FirstChild.Data != string(tc.s.rep.Verdict()) {
				t.Fatalf("verdict badge missing or wrong, want %s", tc.s.rep.Verdict())
			}
			timeline := find(doc, byID("timeline"))
			if timeline == nil {
				t.Fatal("no timeline section")
			}
			for n := 1; n <= tc.s.rep.Cycles; n++ {
				band := find(timeline, byID(fmt.Sprintf("crash-%d", n)))
				if band == nil || !hasClass(band, "crash") {
					t.Errorf("crash band #%d missing from the overview", n)
				}
			}
			if find(timeline, func(n *html.Node) bool {
				return n.Data == "details" && find(n, func(n *html.Node) bool { return hasClass(n, "crash") }) != nil
			}) == nil {
				t.Error("no timeline page shows a crash band")
			}
			if find(doc, func(n *html.Node) bool {
				return n.Data == "script" || (n.Data == "link" && attr(n, "rel") == "stylesheet")
			}) != nil {
				t.Error("the page loads or runs something; it must be self-contained")
			}
			for _, ext := range []string{`src="http`, `href="http`, `url(http`, "@import"} {
				if strings.Contains(page, ext) {
					t.Errorf("the page refers to an external resource (%s)", ext)
				}
			}
			if n := strings.Count(page, "<svg"); n < 3 {
				t.Errorf("want the overview, a page and plots as SVG, found %d svg elements", n)
			}
			id := fmt.Sprintf("op-%d", tc.s.violating)
			op := find(timeline, byID(id))
			violation := find(doc, byID("violation"))
			if tc.s.violating < 0 {
				if violation != nil || strings.Contains(page, `class="ok viol"`) {
					t.Error("a passing run shows a violation")
				}
				return
			}
			if op == nil || !hasClass(op, "viol") {
				t.Fatalf("violating op %s not highlighted in the timeline", id)
			}
			details := op.Parent
			for details != nil && details.Data != "details" {
				details = details.Parent
			}
			if details == nil || !hasAttr(details, "open") {
				t.Errorf("the timeline page with %s is not open", id)
			}
			if find(timeline, byID("mark-"+id)) == nil {
				t.Errorf("overview lacks the marker of %s", id)
			}
			if violation == nil || find(violation, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id }) == nil {
				t.Errorf("violation section does not link %s", id)
			}
			if !strings.Contains(page, "Crash before the finding:</b> reset #"+fmt.Sprint(tc.s.rep.FailedAt)) {
				t.Errorf("violation section does not name reset #%d", tc.s.rep.FailedAt)
			}
			if !strings.Contains(page, "missing after the crash") {
				t.Error("violation section lacks expected vs found")
			}
		})
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestRenderLongHistory: a million-entry soak with a violation in the
// middle stays under 5 MB and keeps every op around the violation.
func TestRenderLongHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a million history entries")
	}
	s := synth(1_000_000, 1000, true)
	doc, page := parse(t, "long", s)
	if len(page) > 5<<20 {
		t.Fatalf("report.html is %d bytes for a million entries, want <= 5 MB", len(page))
	}
	if op := find(doc, byID(fmt.Sprintf("op-%d", s.violating))); op == nil {
		t.Fatalf("violating op #%d not drawn", s.violating)
	}
	if !strings.Contains(page, "around the violation") {
		t.Error("page does not say the op-by-op view is partial")
	}
	t.Logf("%d entries, %d crashes: report.html %d bytes", len(s.h), s.rep.Cycles, len(page))
}

// TestRewriteSavedRun renders the page from a saved run directory
// (report.json + history.jsonl), as -crash.check does, with the re-check's
// results.
func TestRewriteSavedRun(t *testing.T) {
	s := synth(3000, 300, true)
	dir := t.TempDir()
	// An anomaly checker's explanation (text + Graphviz SVG) named by a
	// problem is shown with the violation.
	s.rep.Results[0].Problems = append(s.rep.Results[0].Problems, checker.Problem{Kind: "G1c", Message: "cycle T1 -> T2 -> T1 (explained in append-001-G1c.txt)"})
	for name, body := range map[string]string{
		"append-001-G1c.txt": "T1 wrote x=1, T2 read x=1 and wrote y=2, T1 read y=2",
		"append-001-G1c.svg": `<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg"><g id="graph0" class="graph"><text>T1</text></g></svg>`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, e := range s.h {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, report.HistoryFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := Rewrite(dir, s.rep.Results)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`id="crash-1"`, fmt.Sprintf(`id="op-%d"`, s.violating), "re-run offline", `href="history.jsonl"`, `href="report.json"`,
		`<svg xmlns="http://www.w3.org/2000/svg"><g id="graph0"`, "T2 read x=1", `href="append-001-G1c.svg"`} {
		if !strings.Contains(page, want) {
			t.Errorf("rewritten report.html lacks %q", want)
		}
	}
	if strings.Contains(page, "<?xml") {
		t.Error("inlined SVG kept its XML prolog")
	}
}

// BenchmarkRenderLongHistory renders the page of a 1,000,000-entry history
// (500 crashes, a violation in the middle) and reports its size.
func BenchmarkRenderLongHistory(b *testing.B) {
	s := synth(1_000_000, 1000, true)
	in := Input{Report: s.rep, History: s.h}
	var size int
	for b.Loop() {
		cw := &countWriter{}
		if err := Render(cw, in); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/1e6, "MB/report")
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// TestRewriteFromEnv re-renders the run directory named by
// $CRASHRIG_REPORT_REWRITE with its saved check results (no re-check, no
// note), e.g. after changing this package:
//
//	CRASHRIG_REPORT_REWRITE=/path/to/run-dir go test -run TestRewriteFromEnv ./tests/reporthtml
func TestRewriteFromEnv(t *testing.T) {
	dir := os.Getenv("CRASHRIG_REPORT_REWRITE")
	if dir == "" {
		t.Skip("$CRASHRIG_REPORT_REWRITE not set")
	}
	path, err := Rewrite(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(path)
}

// TestRenderOtherFaults: nemesis operations other than crashes (a power
// cut, an I/O fault) are shaded too, with their name.
func TestRenderOtherFaults(t *testing.T) {
	s := synth(2000, 500, false)
	last := s.h[len(s.h)-1]
	s.h = append(s.h,
		history.Entry{Index: last.Index + 1, Type: history.Invoke, Process: history.NemesisProcess, Time: last.Time.Add(time.Millisecond), F: "io-fault", Value: json.RawMessage(`{"disk":"data"}`)},
		history.Entry{Index: last.Index + 2, Type: history.OK, Process: history.NemesisProcess, Time: last.Time.Add(time.Second), F: "io-fault", Invoke: last.Index + 1})
	_, page := parse(t, "fault", s)
	if !strings.Contains(page, `class="fault"`) || !strings.Contains(page, "fault io-fault") {
		t.Fatal("the io-fault nemesis op is not shaded in the timeline")
	}
}

// TestRenderEmptyRun: a run that failed before any operation (setup
// failed, infrastructure error) still gets a page with its failure.
func TestRenderEmptyRun(t *testing.T) {
	rep := &report.Report{Test: "TestCrash/xfs", Started: time.Now(), Ops: map[string]int{}, Failure: "infrastructure error: start server: boom",
		Results: []checker.Result{{Workload: "set"}}}
	_, page := parse(t, "empty", synthetic{rep: rep, violating: -1})
	if !strings.Contains(page, "start server: boom") {
		t.Fatal("page lacks the failure")
	}
}
