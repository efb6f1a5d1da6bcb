package tests

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/reporthtml"
)

// runs are the crash runs of this test binary, for the summary table that
// ends `go test -v`.
var runs struct {
	mu   sync.Mutex
	list []*report.Report
}

// recordRun adds a finished run to the summary.
func recordRun(rep *report.Report) {
	runs.mu.Lock()
	defer runs.mu.Unlock()
	runs.list = append(runs.list, rep)
}

// printSummary writes one line per run: verdict, cycles, ops, time and
// where its report.html is (if it has one).
func printSummary(w io.Writer) {
	runs.mu.Lock()
	defer runs.mu.Unlock()
	if len(runs.list) == 0 {
		return
	}
	fmt.Fprintln(w, "\ncrash runs:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "test\tverdict\tcycles\tok/fail/info\ttime\treport")
	for _, rep := range runs.list {
		page := filepath.Join(rep.Dir, reporthtml.FileName)
		if _, err := os.Stat(page); err != nil {
			page = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d/%d\t%v\t%s\n", rep.Test, rep.Verdict(), rep.Cycles, rep.Ops["ok"], rep.Ops["fail"], rep.Ops["info"], rep.Elapsed.Round(100*time.Millisecond), page)
	}
	_ = tw.Flush()
}

// opRef is how checker messages name an operation (checker.Context.Op).
var opRef = regexp.MustCompile(`\bop #(\d+)\b`)

// checkReportPage checks a failed run's report.html: it shows the crash
// bands and highlights the first operation a failing check names.
func checkReportPage(t *testing.T, rep *report.Report) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rep.Dir, reporthtml.FileName))
	if err != nil {
		t.Errorf("failed run without %s: %v", reporthtml.FileName, err)
		return
	}
	page := string(b)
	if rep.Cycles > 0 && !strings.Contains(page, `id="crash-1"`) {
		t.Errorf("%s lacks the band of crash #1", reporthtml.FileName)
	}
	for _, res := range rep.Results {
		for _, p := range res.Problems {
			if m := opRef.FindStringSubmatch(p.Message); m != nil {
				if !strings.Contains(page, `id="op-`+m[1]+`"`) {
					t.Errorf("%s does not highlight violating op #%s in its timeline", reporthtml.FileName, m[1])
				}
				return
			}
		}
	}
}
