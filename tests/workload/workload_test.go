package workload

import (
	"strings"
	"testing"

	"github.com/crashrig/crashrig/tests/model"
)

// Every workload of the model's table has a generator that records under
// that name.
func TestEveryWorkloadHasAGenerator(t *testing.T) {
	for _, name := range model.Workloads {
		w, err := New(name, Options{})
		if err != nil {
			t.Errorf("workload %s: %v", name, err)
			continue
		}
		if w.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, w.Name())
		}
	}
	if len(generators) != len(model.Workloads) {
		t.Errorf("%d generators for %d workloads", len(generators), len(model.Workloads))
	}
	if _, err := New("queue", Options{}); err == nil || !strings.Contains(err.Error(), "known: set, register") {
		t.Errorf("unknown workload: %v", err)
	}
}
