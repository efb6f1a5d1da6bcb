package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/workload"
)

// TestRecheckSavedRun re-checks saved runs offline, in process and through
// the -crash.check flag of this very test binary, and gets the verdicts the
// live runs got.
func TestRecheckSavedRun(t *testing.T) {
	cfg := config(t)
	cfg.Duration, cfg.Interval, cfg.Jitter, cfg.Workers = 5*time.Second, 1500*time.Millisecond, 500*time.Millisecond, 2
	cfg.Artifacts, cfg.Backend, cfg.FS = t.TempDir(), "local", []string{"ext4-ordered"}
	fs, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	good := runCrash(t, cfg, fs[0], &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: 0.5})
	if good.Failed() {
		t.Fatalf("correct server failed:\n%s", good.Summary())
	}
	cfg.Fault = "accept-torn-tail"
	bad := runCrash(t, cfg, fs[0], &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: 1})
	if !bad.Failed() {
		t.Fatalf("accept-torn-tail not detected:\n%s", bad.Summary())
	}

	for _, rep := range []*report.Report{good, bad} {
		got, err := report.Recheck(rep.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, rep.Results) {
			a, _ := json.MarshalIndent(got, "", " ")
			b, _ := json.MarshalIndent(rep.Results, "", " ")
			t.Fatalf("offline verdict differs from the live one:\noffline %s\nlive %s", a, b)
		}
	}

	// The test binary dying mid-write leaves a torn last history line; the
	// saved run must still re-check.
	f, err := os.OpenFile(filepath.Join(good.Dir, report.HistoryFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"index":999999,"type":"inv`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// What the planted fault destroys depends on how far the traffic got
	// before the first reset (on a busy host: maybe only the setup), so the
	// flag path must name the live run's first problem, whatever it is.
	var firstProblem string
	for _, res := range bad.Results {
		if !res.OK() && len(res.Problems) > 0 {
			firstProblem = "[" + res.Problems[0].Kind + "] " + res.Problems[0].Message
			break
		}
	}
	// A live failure outside the checkers (the server did not come back)
	// leaves a state that re-checks clean.
	badFails := firstProblem != ""
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		rep     *report.Report
		wantErr bool
		want    string
	}{
		{good, false, "set: ok"},
		{bad, badFails, firstProblem},
	} {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrash$", "-test.count=1", "-test.v", "-crash.check="+tc.rep.Dir)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantErr || !strings.Contains(string(out), tc.want) {
			t.Errorf("-crash.check=%s: err=%v, want error %v and output containing %q:\n%s", tc.rep.Dir, err, tc.wantErr, tc.want, out)
		}
	}
}

// panicky panics in a client goroutine after some traffic.
type panicky struct{ workload.Workload }

func (p panicky) Run(ctx context.Context, c *workload.Client) {
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	p.Workload.Run(wctx, c)
	panic("planted panic in a client")
}

// TestArtifactsPersistOnPanic: a panic anywhere in a run still leaves the
// history and a report naming the panic, then propagates.
func TestArtifactsPersistOnPanic(t *testing.T) {
	cfg := config(t)
	cfg.Duration, cfg.Interval, cfg.Jitter, cfg.Workers = 10*time.Second, 5*time.Second, 0, 1
	cfg.Artifacts = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := (&localserver.Backend{Binary: serverBinary(t), Root: t.TempDir()}).Start(ctx, harness.Spec{Flavor: model.Bundled})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	set, err := workload.New(model.Set, workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &harness.Driver{Config: cfg, Target: inst, Nemesis: inst, Workloads: []workload.Workload{panicky{set}}, TestName: t.Name(), Logf: t.Logf}
	p := func() (p any) {
		defer func() { p = recover() }()
		_, _ = d.Run(ctx)
		return nil
	}()
	if p == nil || !strings.Contains(p.(string), "planted panic") {
		t.Fatalf("panic not propagated: %v", p)
	}
	dirs, err := filepath.Glob(filepath.Join(cfg.Artifacts, "*"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("artifact dirs: %v, %v", dirs, err)
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], report.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil || !strings.Contains(rep.Panic, "planted panic") || rep.Ops["ok"] == 0 {
		t.Fatalf("report after panic: %v\n%s", err, b)
	}
	if st, err := os.Stat(filepath.Join(dirs[0], report.HistoryFile)); err != nil || st.Size() == 0 {
		t.Fatalf("history after panic: %v", err)
	}
}
