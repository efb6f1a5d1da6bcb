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

	pos = LogPos{Gen: 0, Entries: 10}
	before := rec.Invoke(0, "set", "add", 1)
	before.OK(nil) // acked at 10
	pos.Entries = 20
	after := rec.Invoke(1, "set", "add", 2)
	after.OK(nil) // acked at 20
	pos.Entries = 25
	spanning := rec.Invoke(2, "set", "add", 3)
	pos = LogPos{Gen: 1, Entries: 0} // the power was cut before the ack's read
	spanning.OK(nil)
	failed := rec.Invoke(0, "set", "add", 4)
	failed.Fail(assert.AnError)
	crash := rec.Invoke(NemesisProcess, "", FCrash, nil)
	crash.OK(map[string]any{"cut": LogPos{Gen: 0, Entries: 15}})
	pos = LogPos{Gen: 1, Entries: 30}
	later := rec.Invoke(0, "set", "add", 5)
	later.OK(nil) // generation 1 has not been cut

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
	assert.Equal(t, OK, types[later.Entry().Index], "no cut in generation 1 yet")
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
