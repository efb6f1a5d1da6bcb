package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/tests/workload"
)

// stop is why the crash loop ends.
type stop int

const (
	keepGoing stop = iota
	// planned: the run reached its planned length with enough cycles.
	planned
	// bounded: the run reached its hard bound with too few cycles.
	bounded
)

// nextStop decides, before a cycle's wait, whether the run ends within it:
// a run ends at its planned length once it has minCycles crashes, and
// otherwise at the latest at its bound. It returns the wait to use.
func nextStop(now, plannedEnd, bound time.Time, done, minCycles int, wait time.Duration) (time.Duration, stop) {
	switch {
	case done >= minCycles && !now.Add(wait).Before(plannedEnd):
		return max(plannedEnd.Sub(now), 0), planned
	case done < minCycles && !now.Add(wait).Before(bound):
		return max(bound.Sub(now), 0), bounded
	}
	return wait, keepGoing
}

// cycles runs traffic and crashes until the run ends, then the final check.
func (r *run) cycles(ctx context.Context, clients []*workloadClient) error {
	d, cfg := r.d, r.d.Config
	sched := NewSchedule(cfg.Seed, cfg.Interval, cfg.Jitter)
	plannedEnd, bound := r.rep.Started.Add(cfg.Duration), r.rep.Started.Add(cfg.Bound())
	var checks time.Duration
	var faults *faultScheduler
	if cfg.Nemesis == NemesisIOFault {
		if _, ok := d.Nemesis.(IOFaultInjector); !ok {
			return fmt.Errorf("-crash.nemesis=%s: the %s backend cannot inject I/O faults", cfg.Nemesis, cfg.Backend)
		}
		if err := r.setupProbe(ctx); err != nil {
			return err
		}
		faults = newFaultScheduler(cfg.Seed, cfg.IOFaults)
	}
	for cycle := 1; ; cycle++ {
		wait, why := nextStop(time.Now(), plannedEnd, bound, cycle-1, cfg.MinCycles, sched.Next())
		if why == keepGoing && time.Now().After(plannedEnd) {
			d.Logf("cycle %d: past the planned %v with %d of %d crash cycles; going on (bound %v)", cycle, cfg.Duration, cycle-1, cfg.MinCycles, cfg.Bound())
		}
		cctx, stopClients := startClients(ctx, clients)
		// Sleeping on the clients' context wakes up early if a client
		// panics; stopClients then re-raises the panic here.
		var faultEnded time.Time
		var err error
		// The nemesis gets ready during the wait: the crash comes after
		// both.
		prepared := func() error { return nil }
		if why == keepGoing {
			prepared = r.prepareCrash(cctx, cycle)
		}
		switch {
		case faults != nil && why == keepGoing:
			faultEnded, err = r.faultWindow(cctx, cycle, wait, faults.plan(wait))
		default:
			err = workload.Sleep(cctx, wait)
		}
		if perr := prepared(); err == nil {
			err = perr
		}
		if err != nil {
			interrupted := cctx.Err() != nil // before stopClients cancels it
			stopClients()
			switch {
			case interrupted:
				return fmt.Errorf("run interrupted in cycle %d: %w", cycle, err)
			case errors.Is(err, ErrFailedBeforeCrash):
				r.rep.Cycles = cycle - 1
				r.fail(cycle-1, fmt.Sprintf("found before the I/O fault of cycle %d: %v", cycle, err))
				return nil
			}
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		if why != keepGoing {
			stopClients()
			break
		}
		r.rep.Cycles = cycle
		cr, crashErr := r.crash(ctx, cycle)
		stopClients()
		if faults != nil && !errors.Is(crashErr, ErrFailedBeforeCrash) {
			// The reset was sent: it ended a fault still active.
			r.faultEndedByCrash(cycle, cr.Requested)
		}
		switch {
		case errors.Is(crashErr, ErrFailedBeforeCrash):
			// The reset was not sent: what failed ran after the previous one.
			r.rep.Cycles = cycle - 1
			r.fail(cycle-1, fmt.Sprintf("found before reset #%d was sent: %v", cycle, crashErr))
			return nil
		case errors.Is(crashErr, ErrNotRecovered) || errors.Is(crashErr, errSampleFailed):
			r.fail(cycle, fmt.Sprintf("reset #%d: %v", cycle, crashErr))
			return nil
		case crashErr != nil:
			return fmt.Errorf("reset #%d: %w", cycle, crashErr)
		}
		if faults != nil {
			if faultEnded.IsZero() {
				faultEnded = cr.Requested
			}
			took, finding := r.probeWrites(ctx, cycle, faultEnded)
			if finding != "" {
				r.fail(cycle, finding)
				return nil
			}
			if n := len(r.rep.Faults); n > 0 && r.rep.Faults[n-1].Cycle == cycle {
				r.rep.Faults[n-1].Recovered = took
			}
		}
		checkStart := time.Now()
		ok, err := r.check(ctx, cycle, false)
		if err != nil {
			return err
		}
		checks += time.Since(checkStart)
		r.rep.StatesChecked++
		counts := r.rec.Counts()
		recovery := "not reported by the server"
		if cr.RecoveryReported {
			recovery = cr.ServerRecovery.String()
		}
		kind := "crash"
		if cr.Kind != "" {
			kind = cr.Kind
		}
		cut := ""
		if cr.Cut != nil {
			cut = fmt.Sprintf(" at write-log position %d of generation %d", cr.Cut.Entries, cr.Cut.Gen)
		}
		d.Logf("cycle %d: %s%s after %v, server ready in %v (its own recovery: %s); ops ok=%d fail=%d info=%d; check %s in %v",
			cycle, kind, cut, wait.Round(time.Millisecond), cr.Ready.Round(time.Millisecond), recovery, counts[history.OK], counts[history.Fail], counts[history.Info], verdictWord(ok), time.Since(checkStart).Round(time.Millisecond))
		if cr.FSCheck != "" {
			d.Logf("cycle %d: the data disk needed the boot-time file system check to mount (as a boot's fsck pass runs it): %s", cycle, cr.FSCheck)
		}
		if !ok {
			return nil
		}
	}
	checkStart := time.Now()
	ok, err := r.check(ctx, r.rep.Cycles, true)
	if err != nil {
		return err
	}
	checks += time.Since(checkStart)
	d.Logf("final check %s in %v", verdictWord(ok), time.Since(checkStart).Round(time.Millisecond))
	if ok && r.rep.Cycles < cfg.MinCycles {
		r.rep.Inconclusive = r.tooSlow(checks)
		d.Logf("INCONCLUSIVE: %s", r.rep.Inconclusive)
	}
	if idle := idleWorkloads(r.rec.Entries()); ok && r.rep.Inconclusive == "" && idle != "" {
		r.rep.Inconclusive = idle
		d.Logf("INCONCLUSIVE: %s", idle)
	}
	return nil
}

// idleAttempts is how many operations a workload must have tried, none
// acknowledged, before idleWorkloads calls it idle: fewer may just be a
// short run whose operations all met crashes.
const idleAttempts = 8

// idleWorkloads says which workloads tried at least idleAttempts
// operations and had none acknowledged, with the first error: their
// checks pass vacuously, so the run proved nothing about them (as when
// every dolt_gc() call was refused for want of a current database). ""
// when every workload did something.
func idleWorkloads(h history.History) string {
	type tally struct {
		tried, ok int
		firstErr  string
	}
	by := map[string]*tally{}
	var names []string
	for _, e := range h {
		if e.Process < 0 || e.Type == history.Invoke {
			continue // setup, nemesis and checks are not traffic
		}
		t := by[e.Workload]
		if t == nil {
			t = &tally{}
			by[e.Workload] = t
			names = append(names, e.Workload)
		}
		t.tried++
		if e.Type == history.OK {
			t.ok++
		} else if t.firstErr == "" {
			t.firstErr = e.Error
		}
	}
	var idle []string
	for _, w := range names {
		if t := by[w]; t.ok == 0 && t.tried >= idleAttempts {
			idle = append(idle, fmt.Sprintf("%s acknowledged none of its %d operations (first error: %s)", w, t.tried, t.firstErr))
		}
	}
	if len(idle) == 0 {
		return ""
	}
	return "workloads that did nothing: " + strings.Join(idle, "; ") +
		". Their checks pass vacuously; this is not a durability finding: fix the workload or the target's spec"
}

func verdictWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

// tooSlow explains an inconclusive run with the measured times.
func (r *run) tooSlow(checks time.Duration) string {
	cfg := r.d.Config
	var b strings.Builder
	fmt.Fprintf(&b, "infrastructure too slow: %d of the %d crash cycles a run needs (-crash.min-cycles) by the hard bound %v (-crash.max-duration; planned -crash.duration=%v)",
		r.rep.Cycles, cfg.MinCycles, cfg.Bound(), cfg.Duration)
	if len(r.rep.Recoveries) == 0 {
		b.WriteString("; no reset completed")
	} else {
		b.WriteString("; measured per reset:")
		for i, cr := range r.rep.Recoveries {
			fmt.Fprintf(&b, " #%d %s;", i+1, cr.Timeline())
		}
	}
	fmt.Fprintf(&b, " checks took %v in all. The checks that ran passed; this is not a durability finding: rerun on a less loaded host or with a larger -crash.max-duration", checks.Round(time.Millisecond))
	return b.String()
}

// prepareCrash starts a CrashPreparer nemesis getting ready (traffic
// running) and returns the wait for it, which the caller calls once, after
// the cycle's own wait; a preparation that outlasts it delays the crash
// and is logged.
func (r *run) prepareCrash(ctx context.Context, cycle int) (wait func() error) {
	p, ok := r.d.Nemesis.(CrashPreparer)
	if !ok {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- p.PrepareCrash(ctx) }()
	return func() error {
		start := time.Now()
		err := <-done
		if w := time.Since(start); w > time.Second {
			r.d.Logf("cycle %d: waited %v more for the nemesis to be ready to crash (traffic running)", cycle, w.Round(time.Millisecond))
		}
		return err
	}
}

func (r *run) crash(ctx context.Context, cycle int) (report.CrashReport, error) {
	p := r.rec.Invoke(history.NemesisProcess, "", history.FCrash, map[string]int{"cycle": cycle})
	var cr report.CrashReport
	var err error
	if s, ok := r.d.Nemesis.(StateSampler); ok && r.d.Config.States > 0 {
		cr, err = s.CrashSampling(ctx, r.d.Config.States, func(ctx context.Context, st SampledState) error {
			return r.checkSample(ctx, cycle, p.Entry().Index, st)
		})
	} else {
		cr, err = r.d.Nemesis.Crash(ctx)
	}
	if err != nil {
		p.Complete(history.Info, cr, err)
		return cr, err
	}
	p.OK(cr)
	r.rep.Recoveries = append(r.rep.Recoveries, cr)
	return cr, nil
}
