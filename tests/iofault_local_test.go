package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// recordingInjector stands in for the VM's fault injection: it records
// the calls and injects nothing, so the harness' scheduling, history and
// report can be checked on the local backend.
type recordingInjector struct {
	harness.Nemesis
	mu     sync.Mutex
	calls  []string
	active bool
}

func (r *recordingInjector) InjectFault(_ context.Context, f harness.IOFault) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.active = append(r.calls, "inject "+f.Kind), true
	return "recorded", nil
}

func (r *recordingInjector) ClearFault(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.active = append(r.calls, "clear"), false
	return nil
}

func (r *recordingInjector) Crash(ctx context.Context) (report.CrashReport, error) {
	r.mu.Lock()
	r.calls, r.active = append(r.calls, "crash"), false // a crash ends a fault
	r.mu.Unlock()
	return r.Nemesis.Crash(ctx)
}

// Under -crash.nemesis=iofault every crash cycle gets one fault before
// its crash; every start and end is in the history and the report, and
// the recovery probe measures each fault's recovery.
func TestIOFaultNemesisRecordsEveryFault(t *testing.T) {
	cfg := config(t)
	cfg.Workloads, cfg.Workers, cfg.Backend, cfg.FS = []string{model.Set}, 1, "local", []string{"ext4-ordered"}
	cfg.Duration, cfg.Interval, cfg.Jitter, cfg.MinCycles, cfg.MaxDuration = 3*time.Second, 700*time.Millisecond, 100*time.Millisecond, 3, time.Minute
	cfg.Nemesis, cfg.IOFaults, cfg.Seed = harness.NemesisIOFault, []string{"write-error", "slow"}, 5
	cfg.Artifacts = t.TempDir()
	fs, _ := harness.LookupFS(cfg.FS)
	inj := &recordingInjector{}
	backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir()}
	rep := runCrashWith(t, cfg, fs[0], backend, func(inst harness.Instance) harness.Nemesis {
		inj.Nemesis = inst
		return inj
	})
	t.Log(rep.Summary())
	if rep.Verdict() != report.Passed {
		t.Fatalf("want a passing run, got %s", rep.Verdict())
	}
	if len(rep.Faults) != rep.Cycles || rep.Cycles < cfg.MinCycles {
		t.Fatalf("%d faults in %d cycles, want one per cycle", len(rep.Faults), rep.Cycles)
	}
	crashes := 0
	for _, c := range inj.calls {
		if c == "crash" {
			crashes++
		}
	}
	if crashes != rep.Cycles || !strings.HasPrefix(inj.calls[0], "inject ") {
		t.Errorf("calls %v: want a fault before each of the %d crashes", inj.calls, rep.Cycles)
	}
	for i, f := range rep.Faults {
		if f.Cycle != i+1 || f.Ended.IsZero() || f.Recovered <= 0 || (f.EndedBy != "clear" && f.EndedBy != "crash") {
			t.Errorf("fault %d: %+v: want its cycle, an end and a measured recovery", i, f)
		}
	}
	if !strings.Contains(rep.Summary(), fmt.Sprintf("%d I/O faults:", rep.Cycles)) {
		t.Errorf("summary does not list the faults:\n%s", rep.Summary())
	}
	// The history has a start and an end per fault.
	b, err := os.ReadFile(filepath.Join(rep.Dir, report.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e history.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Process == history.NemesisProcess && e.Type == history.OK {
			counts[e.F]++
		}
	}
	if counts[history.FIOFaultStart] != rep.Cycles || counts[history.FIOFaultEnd] != rep.Cycles {
		t.Errorf("history: %v, want %d fault starts and ends", counts, rep.Cycles)
	}
}
