package tests

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/reporthtml"
	"github.com/crashrig/crashrig/tests/vmbackend"
	"github.com/crashrig/crashrig/tests/workload"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

var flags = harness.RegisterFlags(flag.CommandLine)

// The server binary is built once per test binary, on first use (a run
// against MariaDB never needs it), into binDir, which TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		printSummary(os.Stdout)
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "crashrig-tests-bin-"); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binPath, buildErr = localserver.Build(ctx, binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func config(t *testing.T) harness.Config {
	t.Helper()
	cfg, err := flags.Resolve(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// backends maps -crash.backend values to constructors.
var backends = map[string]func(t *testing.T, cfg harness.Config) harness.Backend{
	"local": func(t *testing.T, _ harness.Config) harness.Backend {
		// Torn tails on half the kills: a correct server must discard
		// them. One crash in five is a clean restart (SIGTERM + start).
		return &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: 0.5, CleanRestart: 0.2, Logf: t.Logf}
	},
	"vm": func(t *testing.T, cfg harness.Config) harness.Backend {
		vmtest.SkipIfShort(t)
		server, _, err := cfg.Server()
		if err != nil {
			t.Fatal(err)
		}
		b := &vmbackend.Backend{
			ControlPlane: cptest.New(t),
			// A spec's packages beyond the default image's make an
			// image variant of their own.
			Image:   vmtest.ImageWith(t, server.Install.Packages...),
			Dir:     t.TempDir(),
			Logf:    t.Logf,
			Standby: cfg.Restart == harness.RestartStandby,
		}
		// Before the run's clock starts: the wait for a VM slot lasts as
		// long as other packages' VMs run.
		cptest.HoldVMSlot(t)
		if server.Install.Upload && server.Install.Binary == "" {
			b.ServerBinary = serverBinary(t)
		}
		return b
	},
}

func backendNames() string {
	var names []string
	for n := range backends {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// runCrash provisions a server for fs and runs the driver with cfg.
func runCrash(t *testing.T, cfg harness.Config, fs harness.FSConfig, backend harness.Backend) *report.Report {
	t.Helper()
	return runCrashWith(t, cfg, fs, backend, func(inst harness.Instance) harness.Nemesis { return inst })
}

// runCrashWith is runCrash with the instance's nemesis wrapped by nemesis.
func runCrashWith(t *testing.T, cfg harness.Config, fs harness.FSConfig, backend harness.Backend, nemesis func(harness.Instance) harness.Nemesis) *report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Bound()+5*time.Minute)
	defer cancel()
	server, flavor, err := cfg.Server()
	if err != nil {
		t.Fatal(err)
	}
	iso, err := model.LookupIsolation(cfg.Isolation)
	if err != nil {
		t.Fatal(err)
	}
	opts := workload.Options{Flavor: flavor, Server: server, ValueSizes: cfg.ValueSize, Isolation: iso}
	var wls []workload.Workload
	for _, name := range cfg.Workloads {
		w, err := workload.New(name, opts)
		if err != nil {
			t.Fatal(err)
		}
		wls = append(wls, w)
	}
	inst, err := backend.Start(ctx, harness.Spec{FS: fs, Flavor: flavor, Server: server, Fault: cfg.Fault, GCPause: cfg.GCPause, Seed: cfg.Seed,
		Nemesis: cfg.Nemesis, IOFaults: cfg.Nemesis == harness.NemesisIOFault, States: cfg.States})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	var rep *report.Report
	defer func() {
		if err := inst.Close(); err != nil {
			if rep != nil && rep.Failed() {
				// The server events Close reports belong to the finding
				// the run already made.
				t.Logf("close server after the failed run: %v", err)
				return
			}
			t.Errorf("close server: %v", err)
		}
	}()
	d := &harness.Driver{Config: cfg, Target: inst, Nemesis: nemesis(inst), Workloads: wls, Options: opts, TestName: t.Name(), Logf: t.Logf}
	rep, err = d.Run(ctx)
	recordRun(rep)
	if err != nil {
		t.Fatalf("crash run could not complete: %v\n%s", err, rep.Summary())
	}
	return rep
}

// TestCrash is the crash suite: workloads plus kill/reset cycles for each
// -crash.fs config. With -crash.check=DIR it re-checks a saved run instead.
func TestCrash(t *testing.T) {
	cfg := config(t)
	if cfg.Check != "" {
		recheck(t, cfg.Check)
		return
	}
	if cfg.Replay != "" {
		replay(t, cfg)
		return
	}
	newBackend, ok := backends[cfg.Backend]
	if !ok {
		t.Fatalf("-crash.backend: unknown backend %q (known: %s)", cfg.Backend, backendNames())
	}
	if cfg.Backend == "local" && cfg.Nemesis == harness.NemesisPowerCut {
		t.Fatalf("-crash.nemesis=powercut needs -crash.backend=vm: a local process has no disk cache to lose")
	}
	if cfg.Backend == "local" && cfg.Target != string(model.Bundled) {
		t.Skipf("the local backend runs only the bundled server; -crash.target=%s needs a VM backend", cfg.Target)
	}
	fss, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d", cfg.Seed)
	for _, fs := range fss {
		t.Run(fs.Name, func(t *testing.T) {
			requirePass(t, runCrash(t, cfg, fs, newBackend(t, cfg)))
		})
	}
}

// requirePass fails t unless rep passed with acknowledged writes in every
// workload.
func requirePass(t *testing.T, rep *report.Report) {
	t.Helper()
	t.Log(rep.Summary())
	switch rep.Verdict() {
	case report.Failed:
		t.Fatalf("a check failed (see the problems above: durability, or isolation for append); repro: %s", rep.Repro)
	case report.Inconclusive:
		t.Fatalf("INCONCLUSIVE, not a durability finding: %s\nrepro: %s", rep.Inconclusive, rep.Repro)
	}
	if rep.Ops["ok"] == 0 {
		t.Fatalf("no operation was acknowledged in %d crash cycles", rep.Cycles)
	}
	// Every workload must have had writes acknowledged, or its check
	// passed vacuously (e.g. every transfer refused).
	for _, res := range rep.Results {
		if res.AckedWrites() == 0 {
			t.Errorf("workload %s: no write was acknowledged in %d crash cycles, so its check proved nothing (%s)", res.Workload, rep.Cycles, res.Summary())
		}
	}
}

func recheck(t *testing.T, dir string) {
	t.Helper()
	results, err := report.Recheck(dir)
	if err != nil {
		t.Fatalf("re-check %s: %v", dir, err)
	}
	names, err := report.WriteExplanations(context.Background(), dir, results)
	if err != nil {
		t.Errorf("write explanations: %v", err)
	}
	if len(names) > 0 {
		t.Logf("explanations written to %s: %s", dir, strings.Join(names, ", "))
	}
	failed := false
	for _, r := range results {
		t.Log(r.Summary())
		failed = failed || !r.OK()
	}
	// The page is rewritten from the saved files, so an old run gets the
	// current report.html.
	if page, err := reporthtml.Rewrite(dir, results); err != nil {
		t.Errorf("rewrite %s: %v", reporthtml.FileName, err)
	} else {
		t.Logf("report: %s", page)
	}
	if failed {
		t.Fatalf("re-check of %s found problems", dir)
	}
}

// TestPlantedFaults runs the suite against servers with the known
// durability bugs that a process kill can expose (harness.Faults, ByKill);
// the suite must report a failure, within a bounded time. It is the one
// place these faults are tested end to end (the server's own package tests
// its recovery without them).
func TestPlantedFaults(t *testing.T) {
	base := config(t)
	// Control: the correct server under the same torn tails and GC pauses
	// must pass, or the detections below prove nothing.
	cases := []harness.Fault{{Name: "", TearTail: 1, GCPause: 300 * time.Millisecond}}
	for _, f := range harness.Faults {
		if f.Exposure == harness.ByKill {
			cases = append(cases, f)
		}
	}
	for _, tc := range cases {
		name := tc.Name
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			cfg := base
			cfg.Fault, cfg.GCPause = tc.Name, tc.GCPause
			cfg.Duration, cfg.Interval, cfg.Jitter = 30*time.Second, 1500*time.Millisecond, 500*time.Millisecond
			if tc.Name == "" {
				cfg.Duration = 8 * time.Second
			}
			cfg.Workers, cfg.Backend, cfg.FS = 2, "local", []string{"ext4-ordered"}
			if base.Artifacts == "" {
				cfg.Artifacts = t.TempDir()
			}
			fs, _ := harness.LookupFS(cfg.FS)
			backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: tc.TearTail}
			rep := runCrash(t, cfg, fs[0], backend)
			if tc.Name == "" {
				if rep.Verdict() != report.Passed {
					t.Fatalf("correct server: want a passing run:\n%s", rep.Summary())
				}
				return
			}
			if !rep.Failed() {
				t.Fatalf("planted fault %s went undetected in %v (%d crash cycles):\n%s", tc.Name, rep.Elapsed, rep.Cycles, rep.Summary())
			}
			t.Logf("fault %s detected after %v (%s): %s", tc.Name, rep.Detected.Round(time.Millisecond), report.AfterReset(rep.FailedAt), firstLines(rep.Failure, 4))
			want := []string{report.HistoryFile, report.ReportFile, report.ReproFile, reporthtml.FileName, "server-001.log"}
			if strings.HasPrefix(rep.Failure, "checker found") {
				want = append(want, report.StateFile)
			}
			for _, f := range want {
				if _, err := os.Stat(filepath.Join(rep.Dir, f)); err != nil {
					t.Errorf("artifact %s missing after a failed run: %v", f, err)
				}
			}
			checkReportPage(t, rep)
			if !strings.Contains(rep.Repro, "-crash.seed="+fmt.Sprint(cfg.Seed)) {
				t.Errorf("repro command lacks the seed: %s", rep.Repro)
			}
		})
	}
}

// TestPlantedAnomalies: each planted isolation bug (harness.Faults,
// ByAnomalyCheck) must be caught by the append workload's checker at
// serializable within its 2-minute budget, for 5 seeds out of 5. The local
// backend's kills go on meanwhile; the run stops at the first failure.
func TestPlantedAnomalies(t *testing.T) {
	base := config(t)
	for _, f := range harness.Faults {
		if f.Exposure != harness.ByAnomalyCheck {
			continue
		}
		for i := range uint64(5) {
			seed := base.Seed + i
			t.Run(fmt.Sprintf("%s/seed%d", f.Name, seed), func(t *testing.T) {
				cfg := base
				cfg.Seed, cfg.Fault, cfg.Workloads, cfg.Isolation = seed, f.Name, f.Workloads, "serializable"
				cfg.Duration, cfg.Backend, cfg.FS = 2*time.Minute, "local", []string{"ext4-ordered"}
				if base.Artifacts == "" {
					cfg.Artifacts = t.TempDir()
				}
				fs, _ := harness.LookupFS(cfg.FS)
				rep := runCrash(t, cfg, fs[0], &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir()})
				if !rep.Failed() {
					t.Fatalf("planted fault %s went undetected in %v (%s):\n%s", f.Name, rep.Elapsed, rep.Verdict(), rep.Summary())
				}
				t.Logf("fault %s (seed %d) detected after %v: %s", f.Name, seed, rep.Detected.Round(time.Millisecond), firstLines(rep.Failure, 3))
			})
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// TestPlantedFaultsVM proves the VM suite catches the durability bugs that
// only a machine crash exposes (harness.Faults, ByReset; a process kill
// keeps the page cache): each planted fault must make the run fail within
// its time budget.
// plantedMinCycles is how many resets a planted fault gets before it
// counts as undetected: about what its 2-minute budget gives on a quiet
// 2-core host (8-12 s per cycle).
const plantedMinCycles = 8

func TestPlantedFaultsVM(t *testing.T) {
	base := config(t)
	for _, f := range harness.Faults {
		switch f.Exposure {
		case harness.ByReset:
			t.Run(f.Name, func(t *testing.T) { plantedFaultVM(t, base, f, harness.NemesisReset, true) })
		case harness.ByPowerCut:
			// Caught by a power cut, and (the contrast that shows why the
			// nemesis exists) not by resets on a perfect disk.
			t.Run(f.Name, func(t *testing.T) { plantedFaultVM(t, base, f, harness.NemesisPowerCut, true) })
			t.Run(f.Name+"-under-reset", func(t *testing.T) { plantedFaultVM(t, base, f, harness.NemesisReset, false) })
		}
	}
}

// plantedFaultVM runs the bundled server with fault f planted under
// nemesis for the planted-fault budget; the run must fail if caught, and
// pass otherwise.
func plantedFaultVM(t *testing.T, base harness.Config, f harness.Fault, nemesis string, caught bool) {
	cfg := base
	cfg.Fault, cfg.Target, cfg.Nemesis = f.Name, string(model.Bundled), nemesis
	// The budget: 2 minutes and at least plantedMinCycles crashes (what 2
	// minutes give on a quiet host), so a busy host makes the run longer,
	// never a false "undetected". The run stops at the first failure.
	cfg.Duration, cfg.MinCycles, cfg.MaxDuration = 2*time.Minute, plantedMinCycles, 0
	if base.Artifacts == "" {
		cfg.Artifacts = t.TempDir()
	}
	if f.Workloads != nil {
		cfg.Workloads = f.Workloads
	}
	fsName := f.FS
	if fsName == "" {
		fsName = harness.DefaultFSNames()[0]
	}
	cfg.Backend, cfg.FS = "vm", []string{fsName}
	fs, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	rep := runCrash(t, cfg, fs[0], backends["vm"](t, cfg))
	what := fmt.Sprintf("planted fault %s under %s on %s", f.Name, nemesis, fsName)
	switch {
	case rep.Verdict() == report.Inconclusive:
		t.Fatalf("%s: INCONCLUSIVE, the host was too slow for %d crashes (not a verdict on the fault): %s", what, cfg.MinCycles, rep.Inconclusive)
	case caught && rep.Verdict() == report.Passed:
		t.Fatalf("%s went undetected in %v (%d crashes):\n%s", what, rep.Elapsed, rep.Cycles, rep.Summary())
	case !caught && rep.Verdict() != report.Passed:
		t.Fatalf("%s must pass (only a %s exposes it), but failed:\n%s", what, f.Exposure, rep.Summary())
	case caught:
		t.Logf("%s detected after %v (%s, %d crash states checked): %s", what, rep.Detected.Round(time.Millisecond), report.AfterReset(rep.FailedAt), rep.StatesChecked, firstLines(rep.Failure, 4))
		checkReportPage(t, rep)
	default:
		t.Logf("%s passed, as it must: %d crashes in %v", what, rep.Cycles, rep.Elapsed.Round(time.Second))
	}
}
