package harness

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/workload"
)

// Target says where the server under test answers.
type Target interface {
	// DSN is a go-sql-driver/mysql DSN for a user that may create
	// databases, e.g. "root:pw@tcp(10.0.0.2:3306)/". It must stay valid
	// across crashes.
	DSN() string
}

// Nemesis crashes the server.
type Nemesis interface {
	// Crash kills or hard-resets the machine/process under the server and
	// returns once the server answers again. An error wrapping
	// ErrNotRecovered means the server did not come back (a finding); any
	// other error is an infrastructure failure.
	Crash(ctx context.Context) (CrashReport, error)
}

// ErrNotRecovered is wrapped by Nemesis errors meaning the server failed to
// come back after the crash (refused to start, crashed during recovery).
var ErrNotRecovered = errors.New("server did not recover after crash")

// CrashReport says how a crash went. Durations are measured from
// Requested; zero means "not applicable/unknown".
type CrashReport struct {
	Requested time.Time `json:"requested"`
	// Down: the process/VM is gone (kill reaped, reset acknowledged).
	Down time.Duration `json:"down_ns"`
	// AgentBack: the in-VM agent answers (VM backends).
	AgentBack time.Duration `json:"agent_back_ns,omitempty"`
	// Ready: the server accepts SQL again.
	Ready time.Duration `json:"ready_ns"`
	// ServerRecovery is the recovery time the server itself reported.
	ServerRecovery time.Duration `json:"server_recovery_ns,omitempty"`
	Detail         string        `json:"detail,omitempty"`
}

// Instance is a provisioned server: a Target, its Nemesis, and cleanup.
type Instance interface {
	Target
	Nemesis
	// Close stops the server and releases everything Start acquired.
	Close() error
}

// Spec is what a backend must provision for one run.
type Spec struct {
	FS      FSConfig
	Flavor  workload.Flavor
	Fault   string        // TEST-ONLY fault to plant (bundled server)
	GCPause time.Duration // TEST-ONLY -unsafe-gc-pause (bundled server)
	Seed    uint64        // for the nemesis' own random choices
}

// Backend provisions servers.
type Backend interface {
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// ArtifactCollector is implemented by instances that can save their own
// evidence (server logs, console output) into dir when a run fails.
type ArtifactCollector interface {
	CollectArtifacts(ctx context.Context, dir string) error
}

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

// Report is the outcome of a run; it is also written as report.json.
type Report struct {
	Test       string           `json:"test"`
	Seed       uint64           `json:"seed"`
	Started    time.Time        `json:"started"`
	Elapsed    time.Duration    `json:"elapsed_ns"`
	Cycles     int              `json:"cycles"`
	Ops        map[string]int   `json:"ops"`
	Recoveries []CrashReport    `json:"recoveries,omitempty"`
	Results    []checker.Result `json:"results,omitempty"`
	Failure    string           `json:"failure,omitempty"`
	FailedAt   int              `json:"failed_cycle,omitempty"`
	Detected   time.Duration    `json:"detected_after_ns,omitempty"`
	Panic      string           `json:"panic,omitempty"`
	Dir        string           `json:"artifacts"`
	Repro      string           `json:"repro"`
	Config     map[string]any   `json:"config"`
}

// Failed reports whether the run found a durability problem.
func (r *Report) Failed() bool { return r.Failure != "" || r.Panic != "" }

// Summary is a human-readable verdict.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d crash cycles in %v, ops ok=%d fail=%d info=%d", r.Seed, r.Cycles, r.Elapsed.Round(time.Millisecond), r.Ops["ok"], r.Ops["fail"], r.Ops["info"])
	if r.Failed() {
		fmt.Fprintf(&b, "\nFAILED after %v (cycle %d): %s", r.Detected.Round(time.Millisecond), r.FailedAt, r.Failure)
	}
	if r.Panic != "" {
		fmt.Fprintf(&b, "\nPANIC: %s", r.Panic)
	}
	for _, res := range r.Results {
		b.WriteString("\n" + res.Summary())
	}
	fmt.Fprintf(&b, "\nartifacts: %s\nrepro: %s", r.Dir, r.Repro)
	return b.String()
}

// Snapshot is state.json: the last state snapshot, with what is needed to
// re-check it offline against history.jsonl.
type Snapshot struct {
	// HistoryIndex: the snapshot was taken after entries [0, HistoryIndex)
	// and before any later one.
	HistoryIndex int64                      `json:"history_index"`
	Cycle        int                        `json:"cycle"`
	Taken        time.Time                  `json:"taken"`
	Flavor       workload.Flavor            `json:"flavor"`
	Workloads    []string                   `json:"workloads"`
	States       map[string]json.RawMessage `json:"states"`
}

// Artifact file names inside a run directory.
const (
	HistoryFile = "history.jsonl"
	StateFile   = "state.json"
	ReportFile  = "report.json"
	ReproFile   = "repro.txt"
)

// Run executes the test. The returned error is an infrastructure failure
// (could not set up, nemesis broke); durability findings are in
// Report.Failure. Artifacts are persisted in every case, including a
// panic, which is re-raised afterwards.
func (d *Driver) Run(ctx context.Context) (rep *Report, err error) {
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	cfg := d.Config
	rep = &Report{Test: d.TestName, Seed: cfg.Seed, Started: time.Now(), Ops: map[string]int{}, Config: map[string]any{"flags": cfg.ReproFlags()}}
	rep.Repro = d.repro()
	dir, temp, err := d.artifactDir(rep.Started)
	if err != nil {
		return rep, err
	}
	rep.Dir = dir
	hf, err := os.OpenFile(filepath.Join(dir, HistoryFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return rep, fmt.Errorf("create history: %w", err)
	}
	rec := history.NewRecorder(hf)
	r := &run{d: d, rep: rep, rec: rec, dir: dir}
	defer func() {
		p := recover()
		if p != nil {
			rep.Panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
		if err != nil && rep.Failure == "" && rep.Panic == "" {
			rep.Failure = "infrastructure error: " + err.Error()
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

type run struct {
	d   *Driver
	rep *Report
	rec *history.Recorder
	dir string
	db  *sql.DB
}

func (r *run) main(ctx context.Context) error {
	d, cfg := r.d, r.d.Config
	db, err := openDB(d.Target.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	r.db = db
	if err := r.setup(ctx); err != nil {
		return err
	}
	var clients []*workloadClient
	id := 0
	for _, w := range d.Workloads {
		for i := 0; i < w.Clients(cfg.Workers); i++ {
			clients = append(clients, &workloadClient{w: w, c: workload.NewClient(w, id, i, cfg.Seed, db, r.rec, d.Options)})
			id++
		}
	}
	sched := NewSchedule(cfg.Seed, cfg.Interval, cfg.Jitter)
	end := r.rep.Started.Add(cfg.Duration)
	for cycle := 1; ; cycle++ {
		wait := sched.Next()
		last := time.Until(end) <= wait
		if last {
			wait = max(time.Until(end), 0)
		}
		cctx, stop := startClients(ctx, clients)
		// Sleeping on the clients' context wakes up early if a client
		// panics; stop then re-raises the panic here.
		sleepErr := workload.Sleep(cctx, wait)
		if sleepErr != nil {
			stop()
			sleepErr = ctx.Err()
		}
		if last || sleepErr != nil {
			stop()
			if sleepErr != nil {
				return fmt.Errorf("run interrupted in cycle %d: %w", cycle, sleepErr)
			}
			break
		}
		r.rep.Cycles = cycle
		cr, crashErr := r.crash(ctx, cycle)
		stop()
		if crashErr != nil {
			if errors.Is(crashErr, ErrNotRecovered) {
				r.fail(cycle, fmt.Sprintf("crash #%d: %v", cycle, crashErr))
				return nil
			}
			return fmt.Errorf("crash #%d: %w", cycle, crashErr)
		}
		checkStart := time.Now()
		ok, err := r.check(ctx, cycle)
		if err != nil {
			return err
		}
		verdict := "ok"
		if !ok {
			verdict = "FAILED"
		}
		counts := r.rec.Counts()
		recovery := "not reported by the server"
		if cr.ServerRecovery > 0 {
			recovery = cr.ServerRecovery.String()
		}
		d.Logf("cycle %d: crash after %v, server ready in %v (its own recovery: %s); ops ok=%d fail=%d info=%d; check %s in %v",
			cycle, wait.Round(time.Millisecond), cr.Ready.Round(time.Millisecond), recovery, counts[history.OK], counts[history.Fail], counts[history.Info], verdict, time.Since(checkStart).Round(time.Millisecond))
		if !ok {
			return nil
		}
	}
	checkStart := time.Now()
	ok, err := r.check(ctx, 0)
	if err == nil {
		d.Logf("final check %v in %v", map[bool]string{true: "ok", false: "FAILED"}[ok], time.Since(checkStart).Round(time.Millisecond))
	}
	return err
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

func (r *run) crash(ctx context.Context, cycle int) (CrashReport, error) {
	p := r.rec.Invoke(history.NemesisProcess, "", history.FCrash, map[string]int{"cycle": cycle})
	cr, err := r.d.Nemesis.Crash(ctx)
	if err != nil {
		p.Complete(history.Info, cr, err)
		return cr, err
	}
	p.OK(cr)
	r.rep.Recoveries = append(r.rep.Recoveries, cr)
	return cr, nil
}

// check snapshots every workload's state (clients are stopped), saves it
// as state.json and checks it. cycle 0 is the final check.
func (r *run) check(ctx context.Context, cycle int) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sf := Snapshot{HistoryIndex: r.rec.Len(), Cycle: cycle, Taken: time.Now().UTC(), Flavor: r.d.Options.Flavor, States: map[string]json.RawMessage{}}
	for _, w := range r.d.Workloads {
		sf.Workloads = append(sf.Workloads, w.Name())
		st, err := w.Snapshot(cctx, r.db)
		if err != nil {
			// The server answered the nemesis but cannot serve the tables:
			// that is a finding about recovery, not an infrastructure error.
			r.fail(cycle, fmt.Sprintf("after crash #%d, reading the %s state failed: %v", cycle, w.Name(), err))
			return false, nil
		}
		sf.States[w.Name()] = st
	}
	if err := writeJSONAtomic(filepath.Join(r.dir, StateFile), sf); err != nil {
		return false, err
	}
	results := CheckState(r.rec.Entries().Before(sf.HistoryIndex), sf, r.d.Options)
	r.rep.Results = results
	var bad []string
	for _, res := range results {
		if !res.OK() {
			bad = append(bad, res.Summary())
		}
		if len(res.Resolved) > 0 {
			r.rec.Log(history.CheckerProcess, res.Workload, history.FResolve, res.Resolved)
		}
	}
	r.rec.Log(history.CheckerProcess, "", history.FCheck, map[string]any{"cycle": cycle, "ok": len(bad) == 0, "history_index": sf.HistoryIndex})
	if len(bad) > 0 {
		when := "at the end of the run"
		if cycle > 0 {
			when = fmt.Sprintf("after crash #%d", cycle)
		}
		r.fail(cycle, "checker found problems "+when+":\n"+strings.Join(bad, "\n"))
		return false, nil
	}
	return true, nil
}

func (r *run) fail(cycle int, msg string) {
	if r.rep.Failure != "" {
		return
	}
	r.rep.Failure, r.rep.FailedAt, r.rep.Detected = msg, cycle, time.Since(r.rep.Started)
}

// persist writes report.json (always) and, on failure, repro.txt and the
// instance's own artifacts. A passing run in a temp dir is removed.
func (r *run) persist(temp bool) {
	rep := r.rep
	rep.Elapsed = time.Since(rep.Started)
	for t, n := range r.rec.Counts() {
		rep.Ops[string(t)] = n
	}
	if err := r.rec.Err(); err != nil && rep.Failure == "" {
		rep.Failure = "history not fully persisted: " + err.Error()
	}
	if !rep.Failed() && temp {
		_ = os.RemoveAll(r.dir)
		rep.Dir = "(removed: run passed)"
		return
	}
	if rep.Failed() {
		_ = os.WriteFile(filepath.Join(r.dir, ReproFile), []byte(rep.Repro+"\n"), 0o644)
		if c, ok := r.d.Nemesis.(ArtifactCollector); ok {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := c.CollectArtifacts(ctx, r.dir); err != nil {
				r.d.Logf("collect artifacts: %v", err)
			}
			cancel()
		}
	}
	if err := writeJSONAtomic(filepath.Join(r.dir, ReportFile), rep); err != nil {
		r.d.Logf("write report: %v", err)
	}
}

// CheckState runs every workload's checker over h and the saved states.
func CheckState(h history.History, sf Snapshot, opts workload.Options) []checker.Result {
	opts.Flavor = sf.Flavor
	var out []checker.Result
	for _, name := range sf.Workloads {
		w, err := workload.New(name, opts)
		if err != nil {
			out = append(out, checker.Result{Workload: name, Problems: []checker.Problem{{Kind: "state", Message: err.Error()}}})
			continue
		}
		out = append(out, w.Check(h, sf.States[name]))
	}
	return out
}

// Recheck re-runs the checkers over a saved run directory (history.jsonl +
// state.json): no server needed.
func Recheck(dir string) ([]checker.Result, error) {
	h, truncated, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		return nil, err
	}
	_ = truncated // a torn last line is after the snapshot index anyway
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var sf Snapshot
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("decode %s: %w", StateFile, err)
	}
	if n := int64(len(h.Before(sf.HistoryIndex))); n < sf.HistoryIndex {
		return nil, fmt.Errorf("history has %d entries, but the state was taken after %d", n, sf.HistoryIndex)
	}
	return CheckState(h.Before(sf.HistoryIndex), sf, workload.Options{}), nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return nil
}

// quietDriver silences go-sql-driver's own logging: during crashes it
// prints every reset connection, and the history already records each
// error against its operation.
var quietDriver sync.Once

// openDB opens a pool on dsn with timeouts, so a dead server turns into
// errors (info ops) instead of hung clients.
func openDB(dsn string) (*sql.DB, error) {
	quietDriver.Do(func() { _ = mysql.SetLogger(log.New(io.Discard, "", 0)) })
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 15 * time.Second
	}
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Addr, err)
	}
	db.SetConnMaxIdleTime(30 * time.Second)
	return db, nil
}

type workloadClient struct {
	w workload.Workload
	c *workload.Client
}

// startClients runs every client until the returned stop is called; stop
// cancels them, waits, and drops their connections. A panic in a client
// goroutine would kill the test binary before Run's deferred persist, so it
// is caught there and re-raised by stop in the driver's goroutine.
func startClients(ctx context.Context, clients []*workloadClient) (cctx context.Context, stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	var (
		once   sync.Once
		wg     sync.WaitGroup
		mu     sync.Mutex
		panics []string
	)
	for _, wc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					panics = append(panics, fmt.Sprintf("client %d (%s): %v\n%s", wc.c.ID, wc.w.Name(), p, debug.Stack()))
					mu.Unlock()
					cancel()
				}
			}()
			wc.w.Run(cctx, wc.c)
		}()
	}
	return cctx, func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			for _, wc := range clients {
				wc.c.Close()
			}
		})
		if len(panics) > 0 {
			panic(strings.Join(panics, "\n"))
		}
	}
}
