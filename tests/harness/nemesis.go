package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/workload"
)

// Nemeses names the -crash.nemesis values, in one place: what each does
// between crashes.
var Nemeses = []struct{ Name, Usage string }{
	{NemesisReset, "crashes only: an OS crash on a perfect disk, a VM reset (vm backend) or a kill -9 (local backend)"},
	{NemesisPowerCut, "crashes as power cuts: kill QEMU, rebuild the data disk from its write log losing, reordering or tearing unflushed writes (vm backend)"},
	{NemesisIOFault, "an I/O fault (-crash.iofaults) in every cycle, then the crash: during the fault or right after it clears (vm backend)"},
}

// NemesisNames lists Nemeses' names.
func NemesisNames() []string {
	names := make([]string, len(Nemeses))
	for i, n := range Nemeses {
		names[i] = n.Name
	}
	return names
}

// Nemesis kinds (-crash.nemesis), described in Nemeses.
const (
	// NemesisReset: a machine crash on a perfect disk (QMP system_reset,
	// or kill -9 on the local backend): every write the guest handed to
	// the disk survives, flushed or not.
	NemesisReset = "reset"
	// NemesisPowerCut: QEMU is killed and the data disk rebuilt from its
	// block-write log as a power cut may leave it: unflushed writes lost,
	// reordered or torn (docs/power-cut.md). VM backend only.
	NemesisPowerCut = "powercut"
	// NemesisIOFault injects I/O faults between crashes.
	NemesisIOFault = "iofault"
)

// DefaultRecoverWithin bounds how long after an I/O fault ends (and the
// crash that follows it) the server may take to accept writes again.
const DefaultRecoverWithin = 60 * time.Second

// IOFaultNames are the fault kinds -crash.iofaults takes (the control
// plane's table).
func IOFaultNames() []string {
	names := make([]string, len(controlplane.IOFaultKinds))
	for i, k := range controlplane.IOFaultKinds {
		names[i] = k.Name
	}
	return names
}

// IOFault is one fault the nemesis injects.
type IOFault struct {
	// Kind is a name of IOFaultNames.
	Kind string `json:"kind"`
	// Target narrows write-error and read-error (see controlplane.IOFault).
	Target string `json:"target,omitempty"`
	// DelayMillis for slow.
	DelayMillis uint32 `json:"delay_ms,omitempty"`
}

func (f IOFault) String() string {
	s := f.Kind
	if f.Target != "" {
		s += " on " + f.Target
	}
	if f.DelayMillis > 0 {
		s += fmt.Sprintf(" (%d ms)", f.DelayMillis)
	}
	return s
}

// IOFaultInjector is implemented by instances that can fail their data
// disk's I/O (the vm backend with Spec.IOFaults).
type IOFaultInjector interface {
	// InjectFault starts f and says what was done. An error wrapping
	// ErrFailedBeforeCrash means the server had already failed before it.
	InjectFault(ctx context.Context, f IOFault) (string, error)
	// ClearFault ends the active fault.
	ClearFault(ctx context.Context) error
}

// faultPlan is one cycle's fault: when it starts within the cycle's wait,
// and whether it is cleared before the crash (else the crash ends it).
type faultPlan struct {
	fault IOFault
	start time.Duration
	// clearAt is when the fault is cleared; 0: it lasts until the crash.
	clearAt time.Duration
}

// faultStream separates the fault schedule's random stream from the crash
// schedule's and the clients'.
const faultStream = 1<<62 + 1

// faultScheduler draws seeded fault plans.
type faultScheduler struct {
	kinds []string
	rng   *rand.Rand
}

func newFaultScheduler(seed uint64, kinds []string) *faultScheduler {
	return &faultScheduler{kinds: kinds, rng: rand.New(rand.NewPCG(seed, faultStream))}
}

// plan draws the fault for a cycle whose crash comes after wait: it
// starts in the first half; half the time it lasts until the crash, else
// it is cleared a little before it.
func (s *faultScheduler) plan(wait time.Duration) faultPlan {
	f := IOFault{Kind: s.kinds[s.rng.IntN(len(s.kinds))]}
	switch f.Kind {
	case "write-error":
		// The free blocks fail new data while the file system's journal
		// still writes: a retried fsync then succeeds (the trap).
		if s.rng.IntN(4) > 0 {
			f.Target = "free"
		}
	case "read-error":
		f.Target = "." // every file of the data directory
	case "slow":
		f.DelayMillis = uint32(20 + s.rng.IntN(300))
	}
	frac := func(lo, hi float64) time.Duration {
		return time.Duration((lo + (hi-lo)*s.rng.Float64()) * float64(wait))
	}
	p := faultPlan{fault: f, start: frac(0.1, 0.5)}
	if s.rng.IntN(2) == 0 {
		p.clearAt = p.start + frac(0.2, 0.4)
	}
	return p
}

// faultWindow runs a cycle's wait with plan's fault in it: clients keep
// going throughout. It returns the fault's start and, when cleared before
// the crash, its end (else zero: the crash ends it).
func (r *run) faultWindow(ctx context.Context, cycle int, wait time.Duration, plan faultPlan) (ended time.Time, err error) {
	inj := r.d.Nemesis.(IOFaultInjector) // Validate and the driver check it
	began := time.Now()
	sleepUntil := func(at time.Duration) error { return workload.Sleep(ctx, max(at-time.Since(began), 0)) }
	if err := sleepUntil(plan.start); err != nil {
		return time.Time{}, err
	}
	p := r.rec.Invoke(history.NemesisProcess, "", history.FIOFaultStart, map[string]any{"cycle": cycle, "fault": plan.fault})
	detail, err := inj.InjectFault(ctx, plan.fault)
	if err != nil {
		p.Info(err)
		return time.Time{}, fmt.Errorf("inject %s: %w", plan.fault, err)
	}
	p.OK(map[string]any{"detail": detail})
	ev := report.FaultEvent{Cycle: cycle, Kind: plan.fault.Kind, Target: plan.fault.Target, Detail: detail, Started: time.Now()}
	r.d.Logf("cycle %d: I/O fault %s started (%s)", cycle, plan.fault, detail)
	if plan.clearAt > 0 {
		if err := sleepUntil(plan.clearAt); err != nil {
			r.rep.Faults = append(r.rep.Faults, ev)
			return time.Time{}, err
		}
		ended, err = r.clearFault(ctx, cycle, inj, &ev)
		if err != nil {
			return time.Time{}, err
		}
	} else {
		ev.EndedBy = "crash"
	}
	r.rep.Faults = append(r.rep.Faults, ev)
	return ended, sleepUntil(wait)
}

func (r *run) clearFault(ctx context.Context, cycle int, inj IOFaultInjector, ev *report.FaultEvent) (time.Time, error) {
	p := r.rec.Invoke(history.NemesisProcess, "", history.FIOFaultEnd, map[string]any{"cycle": cycle, "kind": ev.Kind, "by": "clear"})
	if err := inj.ClearFault(ctx); err != nil {
		p.Info(err)
		return time.Time{}, fmt.Errorf("clear %s: %w", ev.Kind, err)
	}
	p.OK(nil)
	ev.Ended, ev.EndedBy = time.Now(), "clear"
	r.d.Logf("cycle %d: I/O fault %s cleared after %v", cycle, ev.Kind, ev.Ended.Sub(ev.Started).Round(time.Millisecond))
	return ev.Ended, nil
}

// faultEndedByCrash records that the crash of cycle ended the active fault.
func (r *run) faultEndedByCrash(cycle int, at time.Time) {
	n := len(r.rep.Faults)
	if n == 0 || r.rep.Faults[n-1].Cycle != cycle || r.rep.Faults[n-1].EndedBy != "crash" {
		return
	}
	r.rep.Faults[n-1].Ended = at
	p := r.rec.Invoke(history.NemesisProcess, "", history.FIOFaultEnd, map[string]any{"cycle": cycle, "kind": r.rep.Faults[n-1].Kind, "by": "crash"})
	p.OK(nil)
}

// probeDB holds the table the recovery probe writes, apart from every
// workload's objects.
const probeDB = "crashrig_probe"

func (r *run) setupProbe(ctx context.Context) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + probeDB,
		"CREATE TABLE IF NOT EXISTS " + probeDB + ".w (id BIGINT PRIMARY KEY)",
	} {
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("setup recovery probe: %w", err)
		}
	}
	return nil
}

// probeWrites checks that the server takes a write within
// -crash.recover-within of the fault's end (the clear, or the crash's
// request when the crash ended it). It returns how long it took, or a
// finding.
func (r *run) probeWrites(ctx context.Context, cycle int, since time.Time) (time.Duration, string) {
	bound := r.d.Config.RecoverWithin
	deadline := since.Add(bound)
	var last error
	for id := int64(cycle) << 32; ; id++ {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		_, err := r.db.ExecContext(wctx, "INSERT INTO "+probeDB+".w VALUES (?)", id)
		cancel()
		if err == nil {
			return time.Since(since), ""
		}
		last = err
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Sprintf("the server took no write within -crash.recover-within=%v after the I/O fault of cycle %d ended (last error: %v)", bound, cycle, last)
		}
		if workload.Sleep(ctx, 250*time.Millisecond) != nil {
			return 0, ""
		}
	}
}

// validateNemesis checks -crash.nemesis, -crash.iofaults and
// -crash.recover-within.
func (c Config) validateNemesis() error {
	if !slices.Contains(NemesisNames(), c.Nemesis) {
		return fmt.Errorf("-crash.nemesis: unknown value %q (known: %s)", c.Nemesis, strings.Join(NemesisNames(), ", "))
	}
	if len(c.IOFaults) == 0 {
		return fmt.Errorf("-crash.iofaults: no fault kinds given (known: %s)", strings.Join(IOFaultNames(), ", "))
	}
	for _, k := range c.IOFaults {
		if _, err := controlplane.ParseIOFaultKind(k); err != nil {
			return fmt.Errorf("-crash.iofaults: %w", err)
		}
	}
	if c.RecoverWithin <= 0 {
		return fmt.Errorf("-crash.recover-within must be positive, got %v", c.RecoverWithin)
	}
	return nil
}
