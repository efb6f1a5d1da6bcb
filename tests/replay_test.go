package tests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/vmbackend"
	"github.com/crashrig/crashrig/tests/workload"
)

// replay is TestCrash with -crash.replay=DIR: it rebuilds the power-cut
// state that run directory recorded, lets the server recover on it in a
// VM, snapshots the workloads and checks them against the run's history
// cut at that state's cut point. A state that fails its check fails the
// test: the finding reproduced.
func replay(t *testing.T, cfg harness.Config) {
	dir := cfg.Replay
	var saved report.Snapshot
	b, err := os.ReadFile(filepath.Join(dir, report.StateFile))
	if err != nil {
		t.Fatalf("-crash.replay: %v", err)
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatalf("-crash.replay: %s: %v", report.StateFile, err)
	}
	h, _, err := history.ReadFile(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		t.Fatalf("-crash.replay: %v", err)
	}
	cfg.Target = string(saved.Flavor)
	backend := backends["vm"](t, cfg).(*vmbackend.Backend)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	inst, rec, err := backend.Replay(ctx, dir)
	if errors.Is(err, controlplane.ErrServerNotRecovered) {
		t.Fatalf("replay of %s: the server did not recover on the rebuilt state (reproduced): %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := inst.Close(); err != nil {
			t.Logf("close the replay VM: %v", err)
		}
	}()
	cut := history.LogPos{Gen: rec.Gen, Entries: rec.Choices.Cut}
	crashInvoke := int64(-1)
	for _, c := range h.Crashes() {
		var v struct{ Cut *history.LogPos }
		if c.Op.Complete != nil && json.Unmarshal(c.Op.Complete.Value, &v) == nil && v.Cut != nil && v.Cut.Gen == rec.Gen {
			crashInvoke = c.Op.Invoke.Index
		}
	}
	if crashInvoke < 0 {
		t.Fatalf("-crash.replay: the history has no power cut of write-log generation %d", rec.Gen)
	}
	hc, err := h.AtCut(crashInvoke, cut)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", inst.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sf := report.Snapshot{HistoryIndex: int64(len(hc)), Flavor: saved.Flavor, States: map[string]json.RawMessage{}}
	for _, name := range saved.Workloads {
		w, err := workload.New(name, workload.Options{Flavor: saved.Flavor, ValueSizes: cfg.ValueSize, Isolation: isolation(t, cfg)})
		if err != nil {
			t.Fatal(err)
		}
		st, err := w.Snapshot(ctx, db)
		if err != nil {
			t.Fatalf("replay of %s: reading the %s state failed (a finding about recovery): %v", dir, name, err)
		}
		sf.Workloads = append(sf.Workloads, name)
		sf.States[name] = st
	}
	what := fmt.Sprintf("replayed power-cut state (write-log position %d of generation %d, sampled %v)", cut.Entries, cut.Gen, rec.Sampled)
	failed := false
	for _, res := range sf.Check(hc) {
		t.Log(res.Summary())
		failed = failed || !res.OK()
	}
	if failed {
		t.Fatalf("%s: the checker found problems (reproduced)", what)
	}
	t.Logf("%s: every check passed", what)
}

func isolation(t *testing.T, cfg harness.Config) model.Isolation {
	iso, err := model.LookupIsolation(cfg.Isolation)
	if err != nil {
		t.Fatal(err)
	}
	return iso
}
