package checker

import (
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// A soak of several hours under TCG records about a million entries; every
// check after a crash re-reads the whole history.
func BenchmarkCheckSetLongHistory(b *testing.B) {
	hb := newHB()
	hb.op(history.SetupProcess, "set", model.FSetupTable, nil, ok)
	var keys []int64
	for i := int64(0); i < 500_000; i++ {
		hb.op(int(i%3), "set", model.FAdd, model.SetValue{K: i}, ok)
		keys = append(keys, i)
		if i%1000 == 0 {
			hb.crash()
		}
	}
	h := hb.h()
	b.ResetTimer()
	for b.Loop() {
		CheckSet(h, "set", model.SetState{Keys: keys})
	}
}
