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

var (
	_ harness.AckPositioner = (*instance)(nil)
	_ harness.StateSampler  = (*instance)(nil)
)

// Artifact files of a power cut: the cut log generation's base image and
// write log, and what the cut chose (PowerCutRecord), enough to rebuild the
// disk state byte for byte (crashstate.Rebuild) and replay its recovery.
const (
	PowerCutBaseFile   = "powercut-base.raw"
	PowerCutLogFile    = "powercut.log"
	PowerCutRecordFile = "powercut.json"
	// ServerSpecFile is the provisioned server's spec, including the
	// throw-away test account's password, so that a replay reaches the
	// server its agent restores.
	ServerSpecFile = "server-spec.json"
	// RootDiskFile is the root disk's overlay (the agent's durable spec
	// and the installed server), saved by CollectArtifacts.
	RootDiskFile = "root.qcow2"
)

// PowerCutRecord is a power cut as the history (CrashReport.PowerCut) and
// powercut.json keep it.
type PowerCutRecord struct {
	Gen     int                `json:"gen"`
	Choices crashstate.Choices `json:"choices"`
	Build   crashstate.Result  `json:"build"`
	Built   time.Duration      `json:"built_ns"`
	// Sampled: an extra state of the cut (-crash.states), not the one the
	// run continued on.
	Sampled bool `json:"sampled,omitempty"`
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

// CrashSampling is Crash with k extra crash states of the power cut
// checked by check (-crash.states).
func (in *instance) CrashSampling(ctx context.Context, k int, check func(context.Context, harness.SampledState) error) (report.CrashReport, error) {
	rep := report.CrashReport{Requested: time.Now()}
	if !in.powerCut {
		return rep, errors.New("-crash.states needs -crash.nemesis=powercut")
	}
	if ev := in.unexpectedEvents(); ev != "" {
		return rep, fmt.Errorf("%w: %s", harness.ErrFailedBeforeCrash, ev)
	}
	visit := func(ctx context.Context, s controlplane.Sample) error {
		ch, err := json.Marshal(s.Choices)
		if err != nil {
			return err
		}
		in.logf("power cut #%d: sampled state at write-log position %d of generation %d (%d unflushed writes, %d dropped, torn %v) recovered in %v",
			in.crashes, s.Choices.Cut, s.Gen, s.Choices.VolatileLen, s.Build.Dropped, s.Build.Torn, s.Recovery.Timeline.Answered.Round(time.Millisecond))
		err = check(ctx, harness.SampledState{DSN: s.DSN, Cut: history.LogPos{Gen: s.Gen, Entries: s.Choices.Cut}, Choices: ch})
		if err != nil {
			in.failedSample = &s
		}
		return err
	}
	return in.cutPower(ctx, rep, controlplane.WithSamples(k, visit))
}

// cutPower is Crash under the powercut nemesis.
func (in *instance) cutPower(ctx context.Context, rep report.CrashReport, opts ...controlplane.PowerCutOption) (report.CrashReport, error) {
	in.crashes++
	seed := in.seed ^ int64(in.crashes)*0x5851f42d4c957f2d
	rep.Kind = "power cut"
	res, err := in.vm.PowerCut(ctx, seed, opts...)
	fillTimeline(&rep, res.ResetResult)
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
	rec := PowerCutRecord{Gen: c.Gen, Choices: c.Choices, Build: c.Build, Built: c.Built}
	if s := in.failedSample; s != nil {
		// The failing state was a sample of the same log: replay that one.
		rec = PowerCutRecord{Gen: s.Gen, Choices: s.Choices, Build: s.Build, Sampled: true}
	}
	if err := report.WriteJSONAtomic(filepath.Join(dir, PowerCutRecordFile), rec); err != nil {
		errs = append(errs, err)
	}
	if err := report.WriteJSONAtomic(filepath.Join(dir, ServerSpecFile), in.server); err != nil {
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

// Replay rebuilds the power-cut state recorded in run directory dir
// (powercut.json, powercut.log, powercut-base.raw) and boots it in a VM
// from the run's root disk (root.qcow2), whose agent restores the server:
// the server's recovery runs on exactly the disk the run checked. The
// returned instance answers on its DSN; Close ends it.
func (b *Backend) Replay(ctx context.Context, dir string) (harness.Instance, PowerCutRecord, error) {
	rec, err := ReadPowerCut(dir)
	if err != nil {
		return nil, rec, err
	}
	var server controlplane.ServerSpec
	sb, err := os.ReadFile(filepath.Join(dir, ServerSpecFile))
	if err != nil {
		return nil, rec, fmt.Errorf("replay: %w", err)
	}
	if err := json.Unmarshal(sb, &server); err != nil {
		return nil, rec, fmt.Errorf("replay: %s: %w", ServerSpecFile, err)
	}
	vmDir, err := os.MkdirTemp(b.Dir, "replay-")
	if err != nil {
		return nil, rec, err
	}
	state := filepath.Join(vmDir, "replayed.raw")
	res, err := crashstate.Rebuild(ctx, filepath.Join(dir, PowerCutLogFile), filepath.Join(dir, PowerCutBaseFile), state, rec.Choices)
	if err != nil {
		os.RemoveAll(vmDir)
		return nil, rec, fmt.Errorf("replay: rebuild the crash state: %w", err)
	}
	b.Logf("replay: rebuilt the state cut at write-log position %d of generation %d (%d kept, %d dropped, torn %v)",
		rec.Choices.Cut, rec.Gen, res.Kept, res.Dropped, res.Torn)
	vm, err := b.ControlPlane.StartVM(ctx, controlplane.VMSpec{Image: b.Image, Dir: vmDir, LogDataDisk: true,
		DataDiskState: state, RootDisk: filepath.Join(dir, RootDiskFile)})
	if err != nil {
		os.RemoveAll(vmDir)
		return nil, rec, err
	}
	inst := &instance{vm: vm, dir: vmDir, logf: b.Logf, server: server}
	if err := vm.Adopt(server); err != nil {
		inst.Close()
		return nil, rec, err
	}
	rr, err := vm.WaitRestored(ctx)
	if err != nil {
		inst.Close()
		return nil, rec, fmt.Errorf("replay: the server did not recover on the rebuilt state: %w", err)
	}
	b.Logf("replay: server recovered (%s)", &rr.Timeline)
	inst.dsn = vm.DSN()
	return inst, rec, nil
}
