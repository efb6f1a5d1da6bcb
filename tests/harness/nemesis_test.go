package harness

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultPlansAreSeededAndFitTheCycle(t *testing.T) {
	kinds := []string{"write-error", "slow"}
	a, b := newFaultScheduler(7, kinds), newFaultScheduler(7, kinds)
	const wait = 10 * time.Second
	seen := map[string]bool{}
	cleared, lasting := 0, 0
	for range 200 {
		p := a.plan(wait)
		assert.Equal(t, p, b.plan(wait), "the same seed gives the same plans")
		require.True(t, slices.Contains(kinds, p.fault.Kind), "kind %s drawn from -crash.iofaults", p.fault.Kind)
		seen[p.fault.Kind+"/"+p.fault.Target] = true
		assert.True(t, p.start > 0 && p.start < wait/2, "starts in the first half: %v", p.start)
		if p.clearAt == 0 {
			lasting++
			continue
		}
		cleared++
		assert.True(t, p.clearAt > p.start && p.clearAt < wait, "cleared before the crash: %v", p.clearAt)
		if p.fault.Kind == "slow" {
			assert.NotZero(t, p.fault.DelayMillis)
		}
	}
	assert.True(t, seen["write-error/free"] && seen["write-error/"] && seen["slow/"], "targets vary: %v", seen)
	assert.True(t, cleared > 50 && lasting > 50, "both crash during and after the fault: %d/%d", cleared, lasting)
	assert.NotEqual(t, newFaultScheduler(8, kinds).plan(wait), newFaultScheduler(7, kinds).plan(wait))
}

func TestNemesisFlagsValidate(t *testing.T) {
	_, err := resolve(t, []string{"-crash.nemesis=chaos"}, nil)
	assert.ErrorContains(t, err, "-crash.nemesis")
	_, err = resolve(t, []string{"-crash.iofaults=write-error,bitrot"}, nil)
	assert.ErrorContains(t, err, "bitrot")
	_, err = resolve(t, []string{"-crash.recover-within=0s"}, nil)
	assert.ErrorContains(t, err, "-crash.recover-within")
	cfg, err := resolve(t, []string{"-crash.nemesis=iofault"}, nil)
	require.NoError(t, err)
	assert.Equal(t, IOFaultNames(), cfg.IOFaults, "every kind by default")
	assert.Equal(t, DefaultRecoverWithin, cfg.RecoverWithin)
}
