package history

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyCuts(t *testing.T) {
	pos := LogPos{}
	rec := NewRecorder(nil)
	rec.SetPositions(func() (LogPos, error) { return pos, nil })

	op := func(process int, k int, inv, ack LogPos) *Pending {
		pos = inv
		p := rec.Invoke(process, "set", "add", k)
		pos = ack
		p.OK(nil)
		return p
	}
	g0 := func(n uint64) LogPos { return LogPos{Gen: 0, Entries: n} }
	before := op(0, 1, g0(8), g0(10))
	after := op(1, 2, g0(12), g0(20))
	spanning := op(2, 3, g0(14), LogPos{Gen: 1}) // position read after the cut
	pos = g0(13)
	failed := rec.Invoke(0, "set", "add", 4)
	failed.Fail(assert.AnError)
	never := op(0, 5, g0(15), g0(22)) // invoked at the cut point: after it
	crash := rec.Invoke(NemesisProcess, "", FCrash, nil)
	crash.OK(map[string]any{"cut": LogPos{Gen: 0, Entries: 15}})
	later := op(0, 6, LogPos{Gen: 1, Entries: 30}, LogPos{Gen: 1, Entries: 31}) // generation 1 has not been cut

	h := rec.Entries()
	assert.Equal(t, map[int]uint64{0: 15}, h.Cuts())
	cut := h.ApplyCuts()
	types := map[int64]Type{}
	for _, op := range cut.Ops() {
		types[op.Invoke.Index] = op.Type
	}
	assert.Equal(t, OK, types[before.Entry().Index], "acked at or before the cut: must survive")
	assert.Equal(t, Info, types[after.Entry().Index], "acked after the cut: in flight")
	assert.Equal(t, Info, types[spanning.Entry().Index], "position read in the next generation: in flight")
	assert.Equal(t, Fail, types[failed.Entry().Index], "a failure stays a failure")
	assert.NotContains(t, types, never.Entry().Index, "invoked at or after the cut: never happened for that state")
	assert.Equal(t, OK, types[later.Entry().Index], "no cut in generation 1 yet")
	assert.Len(t, cut, len(h)-2, "the op after the cut is left out, invoke and completion")
	assert.Equal(t, OK, h.Ops()[1].Type, "the recorded history is not changed")

	// Positions survive the JSON round trip, so an offline re-check cuts alike.
	var buf bytes.Buffer
	rec2 := NewRecorder(&buf)
	rec2.SetPositions(func() (LogPos, error) { return LogPos{Gen: 2, Entries: 7}, nil })
	rec2.Invoke(0, "set", "add", 1).OK(nil)
	rec2.Log(NemesisProcess, "", "marker", nil)
	back, _, err := Read(&buf)
	require.NoError(t, err)
	require.Len(t, back, 3)
	assert.Equal(t, &LogPos{Gen: 2, Entries: 7}, back[1].Pos)
	assert.Nil(t, back[2].Pos, "only worker invokes and acks carry a position")
}

func TestApplyCutsWithoutCuts(t *testing.T) {
	rec := NewRecorder(nil)
	rec.Invoke(0, "set", "add", 1).OK(nil)
	h := rec.Entries()
	assert.Equal(t, &h[0], &h.ApplyCuts()[0], "no power cut: the same history, not a copy")
}

// TestApplyCutsDropsResolutionsObservedAfterTheCut: a check that ran after
// the cut point of its generation (a sampled state cut early in the
// generation the check ran in) observed writes the cut state may lack, so
// its resolutions do not bind that state; one observed before the cut does.
func TestApplyCutsDropsResolutionsObservedAfterTheCut(t *testing.T) {
	pos := LogPos{Gen: 4, Entries: 10}
	rec := NewRecorder(nil)
	rec.SetPositions(func() (LogPos, error) { return pos, nil })
	early := rec.LogObserved(CheckerProcess, "set", FResolve, Resolution{1: true})
	pos = LogPos{Gen: 4, Entries: 120}
	late := rec.LogObserved(CheckerProcess, "set", FResolve, Resolution{2: true})
	crash := rec.Invoke(NemesisProcess, "", FCrash, nil)
	crash.OK(map[string]any{"cut": LogPos{Gen: 4, Entries: 99}})

	kept := map[int64]bool{}
	for _, e := range rec.Entries().ApplyCuts() {
		kept[e.Index] = true
	}
	assert.Equal(t, &LogPos{Gen: 4, Entries: 10}, early.Pos, "a resolution carries the position of its observation")
	assert.True(t, kept[early.Index], "observed before the cut: binds the cut state")
	assert.False(t, kept[late.Index], "observed after the cut: does not bind it")
	assert.True(t, kept[crash.Entry().Index])
}
