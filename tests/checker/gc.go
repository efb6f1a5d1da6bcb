package checker

import (
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckGC counts GC runs. GC's own correctness shows in the other
// workloads' checks (lost rows after a crash inside GC); here a GC the
// server rejected with an error response is reported, since GC must not
// fail while the server is up.
func CheckGC(h history.History, workload string) Result {
	b := newBuilder(workload, h)
	for _, op := range h.OpsOf(workload) {
		if op.F != model.FGC {
			continue
		}
		b.res.Stats["gc-"+string(op.Type)]++
		if op.Type == history.Fail && op.Error != "" {
			b.problem("gc-error", "GC failed: %s", b.ctx.Op(op))
		}
	}
	return b.res
}
