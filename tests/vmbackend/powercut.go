package vmbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/crashstate"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/report"
)

var _ harness.AckPositioner = (*instance)(nil)

// Artifact files of a power cut: the cut log generation's base image and
// write log, and what the cut chose (PowerCutRecord), enough to rebuild the
// disk state byte for byte (crashstate.Rebuild) and replay its recovery.
const (
	PowerCutBaseFile   = "powercut-base.raw"
	PowerCutLogFile    = "powercut.log"
	PowerCutRecordFile = "powercut.json"
)

// PowerCutRecord is a power cut as the history (CrashReport.PowerCut) and
// powercut.json keep it.
type PowerCutRecord struct {
	Gen     int                `json:"gen"`
	Choices crashstate.Choices `json:"choices"`
	Build   crashstate.Result  `json:"build"`
	Built   time.Duration      `json:"built_ns"`
}

// AckPositions reads the data disk's write-log position, for powercut
// runs (nil otherwise).
func (in *instance) AckPositions() func() (history.LogPos, error) {
	if !in.powerCut {
		return nil
	}
	return func() (history.LogPos, error) {
		p, err := in.vm.WriteLogPosition()
		return history.LogPos{Gen: p.Gen, Entries: p.Entries}, err
	}
}

// cutPower is Crash under the powercut nemesis.
func (in *instance) cutPower(ctx context.Context, rep report.CrashReport) (report.CrashReport, error) {
	in.crashes++
	seed := in.seed ^ int64(in.crashes)*0x5851f42d4c957f2d
	rep.Kind = "power cut"
	res, err := in.vm.PowerCut(ctx, seed)
	since := func(d time.Duration) time.Duration {
		if d == 0 || res.Timeline.Sent.IsZero() {
			return 0
		}
		return res.Timeline.Sent.Add(d).Sub(rep.Requested)
	}
	rep.Down, rep.AgentBack = since(res.Timeline.Acked), since(res.Timeline.AgentBack)
	rep.Ready = since(res.Timeline.Answered)
	rep.ServerRecovery, rep.RecoveryReported = res.ServerRecovery, res.RecoveryReported
	if res.Log != "" {
		in.lastCut = &res
		rep.Cut = &history.LogPos{Gen: res.Gen, Entries: res.Choices.Cut}
		rec, merr := json.Marshal(PowerCutRecord{Gen: res.Gen, Choices: res.Choices, Build: res.Build, Built: res.Built})
		if merr != nil {
			return rep, fmt.Errorf("power cut record: %w", merr)
		}
		rep.PowerCut = rec
		rep.Detail = fmt.Sprintf("SIGKILL QEMU; data disk cut at write-log position %d of %d (generation %d; %d unflushed writes, %d dropped, torn %v), built in %v; boot %s",
			res.Choices.Cut, res.Choices.LogEntries, res.Gen, res.Choices.VolatileLen, res.Build.Dropped, res.Build.Torn, res.Built.Round(time.Millisecond), shortID(res.BootID))
	}
	if errors.Is(err, controlplane.ErrServerNotRecovered) && ctx.Err() == nil {
		return rep, fmt.Errorf("%w: %v", harness.ErrNotRecovered, err)
	}
	return rep, err
}

// collectPowerCut saves the last power cut's base image, log and choices.
func (in *instance) collectPowerCut(dir string) error {
	c := in.lastCut
	if c == nil {
		return nil
	}
	var errs []error
	if _, err := crashstate.CopyImage(filepath.Join(dir, PowerCutBaseFile), c.Base); err != nil {
		errs = append(errs, fmt.Errorf("save power cut base image: %w", err))
	}
	if _, err := crashstate.CopyImage(filepath.Join(dir, PowerCutLogFile), c.Log); err != nil {
		errs = append(errs, fmt.Errorf("save power cut log: %w", err))
	}
	if err := report.WriteJSONAtomic(filepath.Join(dir, PowerCutRecordFile),
		PowerCutRecord{Gen: c.Gen, Choices: c.Choices, Build: c.Build, Built: c.Built}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ReadPowerCut loads a run directory's recorded power cut.
func ReadPowerCut(dir string) (PowerCutRecord, error) {
	var rec PowerCutRecord
	b, err := os.ReadFile(filepath.Join(dir, PowerCutRecordFile))
	if err != nil {
		return rec, fmt.Errorf("power cut record: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("power cut record %s: %w", PowerCutRecordFile, err)
	}
	return rec, nil
}
