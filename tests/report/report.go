package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/history"
)

// Artifact file names inside a run directory.
const (
	HistoryFile = "history.jsonl"
	StateFile   = "state.json"
	ReportFile  = "report.json"
	ReproFile   = "repro.txt"
)

// CrashReport says how one crash went. Durations are measured from
// Requested; zero means "not applicable/unknown".
type CrashReport struct {
	Requested time.Time `json:"requested"`
	// Kind is what the nemesis did, when it has a choice: "kill" or
	// "clean-restart" (local backend); empty for a VM reset.
	Kind string `json:"kind,omitempty"`
	// Down: the process/VM is gone (kill reaped, reset acknowledged).
	Down time.Duration `json:"down_ns"`
	// AgentBack: the in-VM agent answers (VM backends).
	AgentBack time.Duration `json:"agent_back_ns,omitempty"`
	// Ready: the server accepts SQL again.
	Ready time.Duration `json:"ready_ns"`
	// ServerRecovery is the recovery time the server itself reported;
	// RecoveryReported says whether it did (MariaDB logs whole seconds, so
	// 0 can be a report).
	ServerRecovery   time.Duration `json:"server_recovery_ns,omitempty"`
	RecoveryReported bool          `json:"server_recovery_reported,omitempty"`
	Detail           string        `json:"detail,omitempty"`
	// FSCheck is the output of the boot-time file system check (e2fsck -p)
	// the data disk needed before it would mount after the crash, as a
	// boot's fsck pass runs it; empty when it mounted as it was.
	FSCheck string `json:"fs_check,omitempty"`
	// Cut is a power cut's cut point: the data disk was rebuilt as of that
	// position of its write log (history.ApplyCuts reads it from the
	// crash's history entry).
	Cut *history.LogPos `json:"cut,omitempty"`
	// PowerCut holds the power cut's choices (crashstate.Choices: the
	// dropped and torn writes) and what the build did, to replay it.
	PowerCut json.RawMessage `json:"power_cut,omitempty"`
}

// FaultEvent is one injected I/O fault.
type FaultEvent struct {
	Cycle  int    `json:"cycle"`
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	// Detail is what the agent did (sectors covered, fill size, ...).
	Detail  string    `json:"detail,omitempty"`
	Started time.Time `json:"started"`
	// Ended is when it was cleared or the crash that ended it was
	// requested (EndedBy "clear" or "crash").
	Ended   time.Time `json:"ended,omitzero"`
	EndedBy string    `json:"ended_by,omitempty"`
	// Recovered is how long after Ended the server took a write again.
	Recovered time.Duration `json:"recovered_ns,omitempty"`
}

// String is e.g. "cycle 2: write-error on free (120 sectors) 3.1s, ended
// by crash; writes again after 12.5s".
func (f FaultEvent) String() string {
	s := fmt.Sprintf("cycle %d: %s", f.Cycle, f.Kind)
	if f.Target != "" {
		s += " on " + f.Target
	}
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	if !f.Ended.IsZero() {
		s += fmt.Sprintf(" for %v, ended by %s", f.Ended.Sub(f.Started).Round(time.Millisecond), f.EndedBy)
	}
	if f.Recovered > 0 {
		s += fmt.Sprintf("; writes again after %v", f.Recovered.Round(time.Millisecond))
	}
	return s
}

// Timeline is the crash's measured times, e.g. "ready 28.6s (down 0.1s,
// agent back 20.0s, server's own recovery 1.2s)".
func (c CrashReport) Timeline() string {
	var parts []string
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"down", c.Down}, {"agent back", c.AgentBack}, {"server's own recovery", c.ServerRecovery}} {
		if p.d > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", p.name, p.d.Round(time.Millisecond)))
		}
	}
	s := "ready " + c.Ready.Round(time.Millisecond).String()
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// Verdict is a run's outcome.
type Verdict string

const (
	// Passed: the run reached its planned length and minimum number of
	// crash cycles, and every check passed.
	Passed Verdict = "passed"
	// Failed: a durability finding (a check failed, the server did not
	// recover or reported an error), a panic, or an infrastructure error.
	Failed Verdict = "failed"
	// Inconclusive: no check failed, but the infrastructure was too slow
	// to reach the minimum number of crash cycles within the hard bound.
	// Not a durability finding.
	Inconclusive Verdict = "inconclusive"
)

// Report is the outcome of a run; it is also written as report.json.
type Report struct {
	Test    string        `json:"test"`
	Seed    uint64        `json:"seed"`
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Cycles is the number of crashes requested; MinCycles the number the
	// run needed to mean something.
	Cycles    int `json:"cycles"`
	MinCycles int `json:"min_cycles,omitempty"`
	// Nemesis is the kind of crash: reset, powercut or iofault.
	Nemesis string `json:"nemesis,omitempty"`
	// StatesChecked counts the crash states the run checked: one per
	// crash it continued on; ExtraStatesChecked the sampled power-cut
	// states (-crash.states) checked and thrown away besides.
	StatesChecked      int            `json:"states_checked"`
	ExtraStatesChecked int            `json:"extra_states_checked,omitempty"`
	Ops                map[string]int `json:"ops"`
	Recoveries         []CrashReport  `json:"recoveries,omitempty"`
	// Faults are the I/O faults injected (-crash.nemesis=iofault).
	Faults  []FaultEvent     `json:"io_faults,omitempty"`
	Results []checker.Result `json:"results,omitempty"`
	Failure string           `json:"failure,omitempty"`
	// FailedAt is the reset after which the failure was found (0: before
	// the first reset, or at the end of a run without one).
	FailedAt int           `json:"failed_cycle,omitempty"`
	Detected time.Duration `json:"detected_after_ns,omitempty"`
	Panic    string        `json:"panic,omitempty"`
	// Inconclusive says why the run proved too little, with the measured
	// reset times; set only when nothing failed.
	Inconclusive string         `json:"inconclusive,omitempty"`
	Dir          string         `json:"artifacts"`
	Repro        string         `json:"repro"`
	Config       map[string]any `json:"config"`
}

// Failed reports whether the run failed (see Verdict).
func (r *Report) Failed() bool { return r.Failure != "" || r.Panic != "" }

// Verdict is the run's outcome.
func (r *Report) Verdict() Verdict {
	switch {
	case r.Failed():
		return Failed
	case r.Inconclusive != "":
		return Inconclusive
	}
	return Passed
}

// Summary is a human-readable verdict. Under a failure it shows the
// failing checks' results only (each once); the others passed, possibly in
// an earlier check.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d crash cycles in %v, ops ok=%d fail=%d info=%d", r.Seed, r.Cycles, r.Elapsed.Round(time.Millisecond), r.Ops["ok"], r.Ops["fail"], r.Ops["info"])
	if r.Nemesis != "" {
		fmt.Fprintf(&b, "; nemesis %s, crash states checked: %d", r.Nemesis, r.StatesChecked+r.ExtraStatesChecked)
		if r.ExtraStatesChecked > 0 {
			fmt.Fprintf(&b, " (%d continued on, %d sampled)", r.StatesChecked, r.ExtraStatesChecked)
		}
		if m := r.Elapsed.Minutes(); m > 0 {
			fmt.Fprintf(&b, ", %.1f a minute", float64(r.StatesChecked+r.ExtraStatesChecked)/m)
		}
	}
	if len(r.Faults) > 0 {
		fmt.Fprintf(&b, "\n%d I/O faults:", len(r.Faults))
		for _, f := range r.Faults {
			b.WriteString("\n  " + f.String())
		}
	}
	switch r.Verdict() {
	case Failed:
		if r.Failure != "" {
			fmt.Fprintf(&b, "\nFAILED after %v (%s): %s", r.Detected.Round(time.Millisecond), AfterReset(r.FailedAt), r.Failure)
			if f, ok := r.lastFaultBefore(r.FailedAt); ok {
				fmt.Fprintf(&b, "\nthe last I/O fault before it: %s", f)
			}
		}
		if r.Panic != "" {
			fmt.Fprintf(&b, "\nPANIC: %s", r.Panic)
		}
		for _, res := range r.Results {
			if !res.OK() {
				b.WriteString("\n" + res.Summary())
			}
		}
	case Inconclusive:
		fmt.Fprintf(&b, "\nINCONCLUSIVE (not a durability finding): %s", r.Inconclusive)
		fallthrough
	default:
		for _, res := range r.Results {
			b.WriteString("\n" + res.Summary())
		}
	}
	fmt.Fprintf(&b, "\nartifacts: %s\nrepro: %s", r.Dir, r.Repro)
	return b.String()
}

// lastFaultBefore is the last fault injected in or before cycle.
func (r *Report) lastFaultBefore(cycle int) (FaultEvent, bool) {
	for i := len(r.Faults) - 1; i >= 0; i-- {
		if r.Faults[i].Cycle <= cycle || cycle == 0 {
			return r.Faults[i], true
		}
	}
	return FaultEvent{}, false
}

// AfterReset names the point in a run after reset n ("before the first
// reset" for 0).
func AfterReset(n int) string {
	if n == 0 {
		return "before the first reset"
	}
	return fmt.Sprintf("after reset #%d", n)
}

// Write saves r as dir/report.json.
func (r *Report) Write(dir string) error {
	return WriteJSONAtomic(filepath.Join(dir, ReportFile), r)
}

// Read loads dir/report.json.
func Read(dir string) (*Report, error) {
	var r Report
	if err := readJSON(filepath.Join(dir, ReportFile), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WriteJSONAtomic writes v as indented JSON to path through a temp file
// and a rename, so a reader never sees half a file.
func WriteJSONAtomic(path string, v any) error {
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

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}
