package workload

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crashrig/crashrig/tests/model"
)

// Transactions have 1-5 micro-ops; appended values are unique in the run;
// a key is retired after appendsPerKey appends; the zipf skew makes the
// first slot the busiest.
func TestAppendPlan(t *testing.T) {
	w := newAppend(Options{}.withDefaults())
	rng := rand.New(rand.NewPCG(1, 1))
	zipf := rand.NewZipf(rng, zipfS, 1, appendSlots-1)
	values := map[int64]bool{}
	perKey := map[int64]int{}
	sizes := map[int]bool{}
	firstSlotKeys := map[int64]bool{}
	for range 5000 {
		ops := w.plan(rng, zipf)
		sizes[len(ops)] = true
		if len(ops) < 1 || len(ops) > maxMicroOps {
			t.Fatalf("transaction of %d micro-ops", len(ops))
		}
		for _, m := range ops {
			if m.F != model.MicroAppend {
				continue
			}
			if values[m.V] {
				t.Fatalf("value %d appended twice", m.V)
			}
			values[m.V] = true
			if perKey[m.K]++; perKey[m.K] > appendsPerKey {
				t.Fatalf("key %d got %d appends", m.K, perKey[m.K])
			}
		}
		firstSlotKeys[w.slots[0]] = true
	}
	if len(sizes) != maxMicroOps {
		t.Errorf("transaction sizes seen: %v", sizes)
	}
	if len(firstSlotKeys) < 10 {
		t.Errorf("the busiest slot retired only %d keys; want the skew to concentrate appends", len(firstSlotKeys))
	}
}

func TestParseList(t *testing.T) {
	for in, want := range map[string][]int64{"": {}, "7": {7}, "1,2,30": {1, 2, 30}, "1,x,3": {1, -1, 3}} {
		if got := parseList(in); !slices.Equal(got, want) {
			t.Errorf("parseList(%q) = %v, want %v", in, got, want)
		}
	}
}
