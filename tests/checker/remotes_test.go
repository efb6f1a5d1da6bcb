package checker

import (
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

func remotesHistory() history.History {
	b := newHB()
	rv := func(k int64) model.RemotesValue { return model.RemotesValue{K: k} }
	b.op(history.SetupProcess, model.Remotes, model.FSetupRemotes, nil, ok)
	b.op(1, model.Remotes, model.FPush, rv(1), ok)
	b.op(1, model.Remotes, model.FPush, rv(2), fail)
	b.op(1, model.Remotes, model.FClone, model.RemotesValue{Clone: "c0"}, ok)
	b.op(1, model.Remotes, model.FPush, rv(3), ok)
	b.op(1, model.Remotes, model.FRemoteAdd, model.RemotesValue{Remote: "x1"}, ok)
	b.op(1, model.Remotes, model.FRemoteAdd, model.RemotesValue{Remote: "x2"}, ok)
	b.op(1, model.Remotes, model.FRemoteRemove, model.RemotesValue{Remote: "x2"}, ok)
	b.op(1, model.Remotes, model.FRemoteAdd, model.RemotesValue{Remote: "x3"}, fail)
	b.crash()
	b.op(1, model.Remotes, model.FPull, model.RemotesValue{Clone: "c0"}, ok)
	b.op(1, model.Remotes, model.FClone, model.RemotesValue{Clone: "c1"}, info)
	b.op(1, model.Remotes, model.FPush, rv(4), info)
	b.crash()
	return b.h()
}

func TestCheckRemotes(t *testing.T) {
	h := remotesHistory()
	good := model.RemotesState{Remote: []int64{1, 2, 3}, Remotes: []string{"x1"},
		Clones: map[string][]int64{"c0": {1, 2, 3}}}
	res := CheckRemotes(h, model.Remotes, good)
	expectProblems(t, res, nil)
	if res.AckedWrites() == 0 {
		t.Error("acknowledged pushes not counted")
	}

	for _, tc := range []struct {
		name string
		st   model.RemotesState
		want map[string]string
	}{
		{"lost push", model.RemotesState{Remote: []int64{1}, Remotes: []string{"x1"}, Clones: map[string][]int64{"c0": {1, 3}}},
			map[string]string{"lost": "key 3"}},
		{"never pushed", model.RemotesState{Remote: []int64{1, 3, 9}, Remotes: []string{"x1"}, Clones: map[string][]int64{"c0": {1, 3}}},
			map[string]string{"unexpected": "key 9"}},
		{"clone lost", model.RemotesState{Remote: []int64{1, 3}, Remotes: []string{"x1"}, Clones: map[string][]int64{}},
			map[string]string{"lost-clone": "c0"}},
		{"pull lost", model.RemotesState{Remote: []int64{1, 3}, Remotes: []string{"x1"}, Clones: map[string][]int64{"c0": {1}}},
			map[string]string{"incomplete-clone": "lacks key 3"}},
		{"half clone", model.RemotesState{Remote: []int64{1, 3}, Remotes: []string{"x1"}, Clones: map[string][]int64{"c0": {1, 3}},
			Broken: map[string]string{"c1": "table not found: r"}},
			map[string]string{"incomplete-clone": "c1"}},
		{"remote metadata", model.RemotesState{Remote: []int64{1, 3}, Remotes: []string{"x2", "x3"}, Clones: map[string][]int64{"c0": {1, 3}}},
			map[string]string{"lost-remote": "x1", "resurrected": "x2", "unexpected-remote": "x3"}},
		{"database gone", model.RemotesState{Missing: true}, map[string]string{"missing-database": "setup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectProblems(t, CheckRemotes(h, model.Remotes, tc.st), tc.want)
		})
	}
	// An unknown clone that turned out complete is fine; with a key no push
	// carried it is not.
	st := good
	st.Clones = map[string][]int64{"c0": {1, 3}, "c1": {1, 3, 4}}
	expectProblems(t, CheckRemotes(h, model.Remotes, st), nil)
	st.Clones = map[string][]int64{"c0": {1, 3}, "c1": {7}}
	expectProblems(t, CheckRemotes(h, model.Remotes, st), map[string]string{"unexpected": "key 7"})
}
