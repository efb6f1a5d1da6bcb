package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// A power cut's state is checked with acks after its cut point in flight:
// their keys may be missing, while a key acked at or before the cut must
// be there.
func TestSnapshotCheckAppliesCuts(t *testing.T) {
	pos := history.LogPos{}
	rec := history.NewRecorder(nil)
	rec.SetPositions(func() (history.LogPos, error) { return pos, nil })
	add := func(k int64, inv, ack uint64) {
		pos.Entries = inv
		p := rec.Invoke(0, "set", model.FAdd, model.SetValue{K: k})
		pos.Entries = ack
		p.OK(nil)
	}
	add(1, 5, 5)
	add(2, 6, 12)
	add(3, 11, 13) // invoked after the cut
	rec.Invoke(history.NemesisProcess, "", history.FCrash, nil).OK(CrashReport{Cut: &history.LogPos{Gen: 0, Entries: 10}})
	check := func(keys ...int64) bool {
		st, err := json.Marshal(model.SetState{Keys: keys})
		require.NoError(t, err)
		s := Snapshot{Workloads: []string{"set"}, States: map[string]json.RawMessage{"set": st}}
		return s.Check(rec.Entries())[0].OK()
	}
	assert.True(t, check(1), "key 2 was acked after the cut: in flight, may be lost")
	assert.True(t, check(1, 2), "in flight may also have survived")
	assert.False(t, check(2), "key 1 was acked before the cut: lost")
	assert.False(t, check(1, 3), "key 3 was invoked after the cut: it never happened for that state")
}

// A run that failed on a sampled state re-checks offline to that verdict.
func TestRecheckFailedSample(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, HistoryFile))
	require.NoError(t, err)
	defer f.Close()
	pos := history.LogPos{}
	rec := history.NewRecorder(f)
	rec.SetPositions(func() (history.LogPos, error) { return pos, nil })
	pos.Entries = 5
	rec.Invoke(0, "set", model.FAdd, model.SetValue{K: 1}).OK(nil)
	p := rec.Invoke(0, "set", model.FAdd, model.SetValue{K: 2})
	pos.Entries = 12
	p.OK(nil)
	set := func(keys ...int64) Snapshot {
		st, err := json.Marshal(model.SetState{Keys: keys})
		require.NoError(t, err)
		return Snapshot{HistoryIndex: rec.Len(), Workloads: []string{"set"}, States: map[string]json.RawMessage{"set": st}}
	}
	main := set(1, 2)
	require.NoError(t, main.Write(dir))
	rec.Invoke(history.NemesisProcess, "", history.FCrash, nil)
	// The sample cut at 6 lacks key 1, acked at 5: lost.
	require.NoError(t, WriteJSONAtomic(filepath.Join(dir, SampleStateFile), set(2)))
	rec.Log(history.CheckerProcess, "", history.FCheck, map[string]any{"sample_cut": history.LogPos{Gen: 0, Entries: 6}, "ok": false})

	res, err := Recheck(dir)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.False(t, res[0].OK(), "the sampled state's verdict, not the last main check's")
	assert.Equal(t, "lost", res[0].Problems[0].Kind)
}
