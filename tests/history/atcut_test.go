package history_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/tests/history"
)

// A sampled or replayed crash state is checked against the history up to
// its crash, which ends at the state's cut point.
func TestAtCut(t *testing.T) {
	pos := history.LogPos{Gen: 0, Entries: 4}
	rec := history.NewRecorder(nil)
	rec.SetPositions(func() (history.LogPos, error) { return pos, nil })
	early := rec.Invoke(0, "set", "add", 1)
	early.OK(nil)
	late := rec.Invoke(0, "set", "add", 2)
	pos.Entries = 9
	late.OK(nil)
	crash := rec.Invoke(history.NemesisProcess, "", history.FCrash, nil)

	// While the crash runs (a sample): everything so far, cut at 5.
	h, err := rec.Entries().AtCut(crash.Entry().Index, history.LogPos{Gen: 0, Entries: 5})
	require.NoError(t, err)
	require.Len(t, h, 6)
	types := map[int64]history.Type{}
	for _, op := range h.ApplyCuts().Ops() {
		types[op.Invoke.Index] = op.Type
	}
	assert.Equal(t, history.OK, types[early.Entry().Index])
	assert.Equal(t, history.Info, types[late.Entry().Index], "acked after the sample's cut")
	assert.Equal(t, history.OK, types[crash.Entry().Index])

	// After the crash (a replay): the real completion and what followed
	// are replaced by the cut at the replayed point.
	crash.OK(map[string]any{"cut": history.LogPos{Gen: 0, Entries: 20}})
	pos = history.LogPos{Gen: 1, Entries: 3}
	rec.Invoke(0, "set", "add", 3).OK(nil)
	h, err = rec.Entries().AtCut(crash.Entry().Index, history.LogPos{Gen: 0, Entries: 5})
	require.NoError(t, err)
	require.Len(t, h, 6, "entries after the crash's completion are not part of that state")
	assert.Equal(t, map[int]uint64{0: 5}, h.Cuts())
}
