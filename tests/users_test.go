package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/localserver"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// TestUsersLocal runs the users workload against the bundled server on
// the local backend (kills, torn tails, clean restarts): every statement
// kind must be acknowledged, the checks must pass, and the last snapshot
// must hold logins that succeeded and logins that were refused, so the
// login checks ran.
func TestUsersLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s crash run")
	}
	cfg := config(t)
	if cfg.Check != "" {
		t.Skip("-crash.check re-checks a saved run; see TestCrash")
	}
	cfg.Workloads = []string{model.Users}
	cfg.Duration, cfg.Interval, cfg.Jitter = 15*time.Second, 3*time.Second, time.Second
	cfg.MinCycles, cfg.MaxDuration = 3, 0
	cfg.Backend, cfg.Target, cfg.FS, cfg.Fault, cfg.GCPause = "local", string(model.Bundled), []string{"ext4-ordered"}, "", 0
	cfg.Artifacts = t.TempDir()
	fs, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	backend := &localserver.Backend{Binary: serverBinary(t), Root: t.TempDir(), TearTail: 0.5, CleanRestart: 0.3, Logf: t.Logf}
	rep := runCrash(t, cfg, fs[0], backend)
	t.Log(rep.Summary())
	if rep.Verdict() != report.Passed {
		t.Fatalf("users: %s; repro: %s", rep.Verdict(), rep.Repro)
	}
	for _, res := range rep.Results {
		for _, f := range []string{model.FCreateUser, model.FGrant, model.FRevoke, model.FSetPassword, model.FDropUser} {
			if res.Stats[f+"-ok"] == 0 {
				t.Errorf("no %s acknowledged: %s", f, res.Summary())
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(rep.Dir, report.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var snap report.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	var st model.UsersState
	if err := json.Unmarshal(snap.States[model.Users], &st); err != nil {
		t.Fatal(err)
	}
	logins := map[bool]int{}
	for _, a := range st.Accounts {
		for _, ok := range a.Logins {
			logins[ok]++
		}
	}
	if logins[true] == 0 || logins[false] == 0 {
		t.Errorf("the last snapshot tried %d logins that succeeded and %d that were refused; want some of each", logins[true], logins[false])
	}
}
