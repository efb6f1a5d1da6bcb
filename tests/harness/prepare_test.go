package harness

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crashrig/crashrig/tests/report"
)

type plainNemesis struct{}

func (plainNemesis) Crash(context.Context) (report.CrashReport, error) {
	return report.CrashReport{}, nil
}

type preparingNemesis struct {
	plainNemesis
	calls   int
	err     error
	release chan struct{} // nil: ready at once
}

func (n *preparingNemesis) PrepareCrash(ctx context.Context) error {
	n.calls++
	if n.release != nil {
		select {
		case <-n.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return n.err
}

func TestPrepareCrashAsksOnlyANemesisThatPrepares(t *testing.T) {
	r := &run{d: &Driver{Nemesis: plainNemesis{}, Logf: t.Logf}}
	if err := r.prepareCrash(t.Context(), 1)(); err != nil {
		t.Fatalf("a nemesis without PrepareCrash: %v", err)
	}
	n := &preparingNemesis{}
	r.d.Nemesis = n
	if err := r.prepareCrash(t.Context(), 1)(); err != nil || n.calls != 1 {
		t.Fatalf("prepareCrash = %v after %d calls, want nil after 1", err, n.calls)
	}
	n.err = errors.New("no standby VM")
	if err := r.prepareCrash(t.Context(), 2)(); !errors.Is(err, n.err) {
		t.Fatalf("prepareCrash = %v, want the nemesis's error (an infrastructure error of the cycle)", err)
	}
}

// The preparation runs during the cycle's wait: prepareCrash returns at
// once, and its wait returns when the nemesis is ready.
func TestPrepareCrashRunsDuringTheWait(t *testing.T) {
	n := &preparingNemesis{release: make(chan struct{})}
	r := &run{d: &Driver{Nemesis: n, Logf: t.Logf}}
	wait := r.prepareCrash(t.Context(), 1) // does not block
	got := make(chan error, 1)
	go func() { got <- wait() }()
	select {
	case err := <-got:
		t.Fatalf("the wait returned %v before the nemesis was ready", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(n.release)
	if err := <-got; err != nil {
		t.Fatalf("wait = %v", err)
	}
}
