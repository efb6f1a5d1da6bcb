package harness

import (
	"context"
	"errors"
	"testing"

	"github.com/crashrig/crashrig/tests/report"
)

type plainNemesis struct{}

func (plainNemesis) Crash(context.Context) (report.CrashReport, error) {
	return report.CrashReport{}, nil
}

type preparingNemesis struct {
	plainNemesis
	calls int
	err   error
}

func (n *preparingNemesis) PrepareCrash(context.Context) error { n.calls++; return n.err }

func TestPrepareCrashAsksOnlyANemesisThatPrepares(t *testing.T) {
	r := &run{d: &Driver{Nemesis: plainNemesis{}, Logf: t.Logf}}
	if err := r.prepareCrash(t.Context(), 1); err != nil {
		t.Fatalf("a nemesis without PrepareCrash: %v", err)
	}
	n := &preparingNemesis{}
	r.d.Nemesis = n
	if err := r.prepareCrash(t.Context(), 1); err != nil || n.calls != 1 {
		t.Fatalf("prepareCrash = %v after %d calls, want nil after 1", err, n.calls)
	}
	n.err = errors.New("no standby VM")
	if err := r.prepareCrash(t.Context(), 2); !errors.Is(err, n.err) {
		t.Fatalf("prepareCrash = %v, want the nemesis's error (an infrastructure error of the cycle)", err)
	}
}
