package harness

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/reporthtml"
	"github.com/crashrig/crashrig/tests/workload"
)

// Driver runs one crash test.
type Driver struct {
	Config    Config
	Target    Target
	Nemesis   Nemesis
	Workloads []workload.Workload
	Options   workload.Options
	// TestName is the full Go test name, for the repro command.
	TestName string
	// Logf receives progress lines (t.Logf).
	Logf func(format string, args ...any)
}

// Run executes the test. The returned error is an infrastructure failure
// (could not set up, nemesis broke); durability findings are in
// Report.Failure, and a run the infrastructure was too slow for is
// report.Inconclusive. Artifacts are persisted in every case, including a
// panic, which is re-raised afterwards.
func (d *Driver) Run(ctx context.Context) (rep *report.Report, err error) {
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	cfg := d.Config
	rep = &report.Report{Test: d.TestName, Seed: cfg.Seed, Started: time.Now(), MinCycles: cfg.MinCycles, Nemesis: cfg.Nemesis, Ops: map[string]int{}, Config: map[string]any{"flags": cfg.ReproFlags()}}
	rep.Repro = d.repro()
	dir, temp, err := d.artifactDir(rep.Started)
	if err != nil {
		return rep, err
	}
	rep.Dir = dir
	hf, err := os.OpenFile(filepath.Join(dir, report.HistoryFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return rep, fmt.Errorf("create history: %w", err)
	}
	rec := history.NewRecorder(hf)
	if p, ok := d.Nemesis.(AckPositioner); ok {
		if f := p.AckPositions(); f != nil {
			rec.SetPositions(f)
		}
	}
	r := &run{d: d, rep: rep, rec: rec, dir: dir}
	defer func() {
		p := recover()
		if p != nil {
			rep.Panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
		if err != nil && rep.Failure == "" && rep.Panic == "" {
			rep.Failure = "infrastructure error: " + err.Error()
			rep.FailedAt, rep.Detected = rep.Cycles, time.Since(rep.Started)
		}
		r.persist(temp)
		_ = hf.Close()
		if p != nil {
			panic(p)
		}
	}()
	d.Logf("crash run: seed %d (repro: %s); artifacts in %s", cfg.Seed, rep.Repro, dir)
	err = r.main(ctx)
	return rep, err
}

func (d *Driver) repro() string {
	parts := strings.Split(d.TestName, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("go test ./tests -count=1 -v -run '%s' %s", strings.Join(parts, "/"), strings.Join(d.Config.ReproFlags(), " "))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// artifactDir creates the run directory. Without a configured root it is a
// temp dir, removed after a passing run (temp == true).
func (d *Driver) artifactDir(start time.Time) (dir string, temp bool, err error) {
	name := fmt.Sprintf("%s-seed%d-%s", unsafeName.ReplaceAllString(d.TestName, "_"), d.Config.Seed, start.Format("20060102-150405.000"))
	root := d.Config.Artifacts
	if root == "" {
		dir, err = os.MkdirTemp("", "crashrig-artifacts-*")
		if err != nil {
			return "", false, fmt.Errorf("create artifact dir: %w", err)
		}
		return dir, true, nil
	}
	dir = filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("create artifact dir: %w", err)
	}
	return dir, false, nil
}

// run is the state of one Driver.Run.
type run struct {
	d   *Driver
	rep *report.Report
	rec *history.Recorder
	dir string
	db  *sql.DB
}

// main sets up the workloads, runs the crash cycles and the final check.
func (r *run) main(ctx context.Context) error {
	db, err := openDB(r.d.Target.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	r.db = db
	for _, w := range r.d.Workloads {
		if u, ok := w.(workload.DSNUser); ok {
			u.UseDSN(r.d.Target.DSN())
		}
	}
	if err := r.setup(ctx); err != nil {
		return err
	}
	return r.cycles(ctx, r.clients())
}

func (r *run) setup(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p := r.rec.Invoke(history.SetupProcess, "", "create-database", nil)
	_, err := r.db.ExecContext(sctx, "CREATE DATABASE "+workload.DB)
	p.Done(err, true)
	if err != nil {
		return fmt.Errorf("setup: create database: %w", err)
	}
	for _, w := range r.d.Workloads {
		if err := w.Setup(sctx, r.db, r.rec); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	return nil
}

// persist writes report.json (always) and, on failure or an inconclusive
// run, repro.txt, report.html and the instance's own artifacts. A passing
// run in a temp dir is removed, unless -crash.report=always asks for its
// page.
func (r *run) persist(temp bool) {
	rep := r.rep
	rep.Elapsed = time.Since(rep.Started)
	for t, n := range r.rec.Counts() {
		rep.Ops[string(t)] = n
	}
	if err := r.rec.Err(); err != nil && rep.Failure == "" {
		rep.Failure = "history not fully persisted: " + err.Error()
	}
	if rep.Verdict() == report.Passed && temp && !r.d.Config.ReportAlways() {
		_ = os.RemoveAll(r.dir)
		rep.Dir = "(removed: run passed)"
		return
	}
	if rep.Verdict() != report.Passed {
		_ = os.WriteFile(filepath.Join(r.dir, report.ReproFile), []byte(rep.Repro+"\n"), 0o644)
	}
	if rep.Failed() {
		if c, ok := r.d.Nemesis.(ArtifactCollector); ok {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := c.CollectArtifacts(ctx, r.dir); err != nil {
				r.d.Logf("collect artifacts: %v", err)
			}
			cancel()
		}
	}
	if err := rep.Write(r.dir); err != nil {
		r.d.Logf("write report: %v", err)
	}
	if rep.Verdict() != report.Passed || r.d.Config.ReportAlways() {
		if _, err := reporthtml.Write(r.dir, rep, r.rec.Entries()); err != nil {
			r.d.Logf("write %s: %v", reporthtml.FileName, err)
		}
	}
}
