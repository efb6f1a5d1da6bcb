package vmbackend

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/report"
	"github.com/crashrig/crashrig/vmimage"
)

var (
	_ harness.Backend           = (*Backend)(nil)
	_ harness.Instance          = (*instance)(nil)
	_ harness.ArtifactCollector = (*instance)(nil)
	_ harness.IOFaultInjector   = (*instance)(nil)
)

// Backend starts one VM per run.
type Backend struct {
	ControlPlane *controlplane.ControlPlane
	Image        *vmimage.Image
	// ServerBinary is a linux/amd64 crashrig-sqlserver, uploaded to the VM
	// for an uploaded target whose spec names no binary (the bundled
	// server).
	ServerBinary string
	// Dir holds the VMs' overlays, data disks and console logs.
	Dir  string
	Logf func(format string, args ...any)
	// Standby: a crash brings the data disk up on a VM started ahead
	// (controlplane.VM.StandbyReset; with power cuts, the built state,
	// VM.PowerCut) instead of a QMP system_reset or a boot.
	Standby bool
}

// Start boots a VM, provisions the server on its data disk and waits until
// the server answers from the host.
func (b *Backend) Start(ctx context.Context, spec harness.Spec) (harness.Instance, error) {
	powerCut := spec.Nemesis == harness.NemesisPowerCut
	dir, err := os.MkdirTemp(b.Dir, "vm-"+spec.FS.Name+"-")
	if err != nil {
		return nil, err
	}
	// Sampled crash states are recovered on a machine of their own,
	// booted once, instead of a boot each.
	sampler := powerCut && spec.States > 0
	vm, err := b.ControlPlane.StartVM(ctx, controlplane.VMSpec{Image: b.Image, Dir: dir, Standby: b.Standby, LogDataDisk: powerCut, Sampler: sampler})
	if err != nil {
		return nil, err
	}
	inst := &instance{vm: vm, dir: dir, logf: b.Logf, standby: b.Standby, powerCut: powerCut, seed: int64(spec.Seed)}
	fail := func(err error) (harness.Instance, error) {
		inst.Close()
		return nil, err
	}
	if _, err := vm.WaitAgent(ctx); err != nil {
		return fail(err)
	}
	server, err := b.serverSpec(ctx, vm, spec)
	if err != nil {
		return fail(err)
	}
	if inst.dsn, err = vm.Provision(ctx, server); err != nil {
		return fail(err)
	}
	inst.server = server
	if b.Standby {
		// The first standby comes with the VM's standby template (a boot,
		// the installs, a save): setup, not a part of the run's time.
		start := time.Now()
		if err := vm.WaitStandby(ctx); err != nil {
			return fail(err)
		}
		b.logf("vm backend: first standby ready %v after provisioning (standby template made)", time.Since(start).Round(time.Millisecond))
	}
	return inst, nil
}

func (b *Backend) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

func (b *Backend) serverSpec(ctx context.Context, vm *controlplane.VM, spec harness.Spec) (controlplane.ServerSpec, error) {
	if len(spec.FS.Mkfs) == 0 || !strings.HasPrefix(spec.FS.Mkfs[0], "mkfs.") {
		return controlplane.ServerSpec{}, fmt.Errorf("filesystem config %s: want a mkfs.TYPE command, got %q", spec.FS.Name, spec.FS.Mkfs)
	}
	s := controlplane.ServerSpec{
		FSType:       strings.TrimPrefix(spec.FS.Mkfs[0], "mkfs."),
		MkfsOptions:  spec.FS.Mkfs[1:],
		MountOptions: spec.FS.MountOptions,
		// The workloads log in as an account of their own, as an
		// application would; it has every privilege, since the ddl
		// workload creates and drops databases.
		User:     "crashrig",
		Password: randomPassword(),
		IOFaults: spec.IOFaults,
	}
	server := spec.Server
	if server == nil {
		return s, fmt.Errorf("vm backend: no server spec for target %q", spec.Flavor)
	}
	s.Kind, s.Server, s.ErrorLogPatterns = server.Name, server, server.ErrorLogPatterns
	if server.Install.Upload {
		bin := server.Install.Binary
		if bin == "" {
			bin = b.ServerBinary
		}
		if bin == "" {
			return s, fmt.Errorf("target %s: install.upload is set but neither its spec %s (install.binary) nor the test names a binary", server.Name, server.File())
		}
		version, err := fileVersion(bin)
		if err != nil {
			return s, fmt.Errorf("target %s (spec %s): %w (the spec's comment says how to build it)", server.Name, server.File(), err)
		}
		if err := vm.Install(ctx, server.Name, version, bin); err != nil {
			return s, err
		}
		s.Version = version
	}
	if spec.Fault != "" || spec.GCPause > 0 {
		if server.Name != serverkind.Bundled {
			return s, fmt.Errorf("-crash.fault and -crash.gc-pause plant bugs in the bundled server only, not %s", spec.Flavor)
		}
		if spec.Fault != "" {
			s.Config = append(s.Config, "-unsafe-fault="+spec.Fault)
		}
		if spec.GCPause > 0 {
			s.Config = append(s.Config, "-unsafe-gc-pause="+spec.GCPause.String())
		}
		// The server refuses its fault switches without this.
		s.Env = append(s.Env, "CRASHRIG_UNSAFE_FAULTS=I_UNDERSTAND")
	}
	return s, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// fileVersion names a build by its content, so a changed binary is a new
// version in the guest.
func fileVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("server binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

type instance struct {
	vm      *controlplane.VM
	standby bool
	dir     string
	dsn     string
	logf    func(format string, args ...any)

	// faulted: an I/O fault was injected since the last crash, so the
	// server stopping (fail-stop) or logging errors is its answer to the
	// fault, not a finding; the crash's report says what it did.
	faulted bool
	// powerCut: crashes are power cuts (controlplane.VM.PowerCut), each
	// seeded by seed and the crash's number.
	powerCut bool
	seed     int64
	crashes  int
	// lastCut is the last power cut, for artifacts; failedSample the
	// sampled state of it that failed its check.
	lastCut      *controlplane.PowerCutResult
	failedSample *controlplane.Sample
	// server is the provisioned server, for a replay's Adopt.
	server controlplane.ServerSpec

	closeOnce sync.Once
}

// InjectFault starts an I/O fault in the guest. Server events before it
// are a finding about the time before the fault.
func (in *instance) InjectFault(ctx context.Context, f harness.IOFault) (string, error) {
	if ev := in.unexpectedEvents(); ev != "" && !in.faulted {
		return "", fmt.Errorf("%w: %s", harness.ErrFailedBeforeCrash, ev)
	}
	kind, err := controlplane.ParseIOFaultKind(f.Kind)
	if err != nil {
		return "", err
	}
	in.faulted = true
	res, err := in.vm.InjectFault(ctx, controlplane.IOFault{Kind: kind, Target: f.Target, DelayMillis: f.DelayMillis})
	if err != nil {
		return "", err
	}
	return res.GetDetail(), nil
}

// ClearFault ends the active I/O fault.
func (in *instance) ClearFault(ctx context.Context) error { return in.vm.ClearFault(ctx) }

func (in *instance) DSN() string { return in.dsn }

// Crash hard-resets the VM and waits for the agent of the new boot and the
// server. A server that crashed or logged an error since the last crash is
// a finding about that crash (ErrFailedBeforeCrash; no reset is done), one
// that does not come back after the reset a finding about this one
// (ErrNotRecovered); a reset that cannot be done at all is an
// infrastructure error.
func (in *instance) Crash(ctx context.Context) (report.CrashReport, error) {
	rep := report.CrashReport{Requested: time.Now()}
	ev := in.unexpectedEvents()
	switch {
	case ev != "" && in.faulted:
		// Kept in the report below: how the server answered the fault.
	case ev != "":
		return rep, fmt.Errorf("%w: %s", harness.ErrFailedBeforeCrash, ev)
	}
	in.faulted = false
	if in.powerCut {
		return in.cutPower(ctx, rep)
	}
	reset, how := in.vm.HardReset, "QMP system_reset"
	if in.standby {
		reset = func(ctx context.Context) (controlplane.ResetResult, error) { return in.vm.StandbyReset(ctx) }
		how = "QMP stop, kill; data disk hot-plugged into standby"
	}
	res, err := reset(ctx)
	fillTimeline(&rep, res)
	rep.Detail = how + ", boot " + shortID(res.BootID)
	if ev != "" {
		rep.Detail += "; before it, under the I/O fault, the server reported: " + ev
	}
	// A reset cut short by the end of the run is no verdict on the server.
	if errors.Is(err, controlplane.ErrServerNotRecovered) && ctx.Err() == nil {
		return rep, fmt.Errorf("%w: %v", harness.ErrNotRecovered, err)
	}
	return rep, err
}

// PrepareCrash waits, with the standby restart, until a standby is ready
// to take over (outside the crash's timeline).
func (in *instance) PrepareCrash(ctx context.Context) error {
	if !in.standby {
		return nil
	}
	return in.vm.WaitStandby(ctx)
}

// unexpectedEvents drains the VM's event channel: a server exit or an error
// log line outside a reset.
func (in *instance) unexpectedEvents() string {
	var evs []string
	for {
		select {
		case ev, ok := <-in.vm.Events():
			if !ok {
				return strings.Join(evs, "; ")
			}
			evs = append(evs, ev.String())
		default:
			return strings.Join(evs, "; ")
		}
	}
}

// CollectArtifacts saves the server's data directory and logs (through the
// agent), the console log and the VM's disk overlay.
func (in *instance) CollectArtifacts(ctx context.Context, dir string) error {
	var errs []error
	tarPath := filepath.Join(dir, "server-files.tar")
	if f, err := os.Create(tarPath); err != nil {
		errs = append(errs, err)
	} else {
		if err := in.vm.Collect(ctx, nil, f); err != nil {
			errs = append(errs, fmt.Errorf("collect server files: %w", err))
		}
		f.Close()
	}
	if err := os.WriteFile(filepath.Join(dir, "console.log"), []byte(in.vm.Console()), 0o644); err != nil {
		errs = append(errs, err)
	}
	if err := in.collectPowerCut(dir); err != nil {
		errs = append(errs, err)
	}
	// The overlay holds every block the VM wrote: with the image it
	// reproduces the root disk as the run left it.
	overlays, _ := filepath.Glob(filepath.Join(in.dir, "*.qcow2"))
	for _, o := range overlays {
		if err := vmimage.CopyFile(o, filepath.Join(dir, filepath.Base(o)), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops the server, deletes its data and kills the VM; the run's
// files go with the VM's directory.
func (in *instance) Close() error {
	var err error
	in.closeOnce.Do(func() {
		defer os.RemoveAll(in.dir)
		defer in.vm.Kill()
		if in.dsn == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if ev := in.unexpectedEvents(); ev != "" {
			err = fmt.Errorf("unexpected server events: %s", ev)
		}
		if serr := in.vm.StopServer(ctx, true, true); serr != nil {
			err = errors.Join(err, serr)
		}
	})
	return err
}

// fillTimeline puts a restart's timeline into rep. The timeline counts
// from the reset or kill, a moment after rep.Requested.
func fillTimeline(rep *report.CrashReport, res controlplane.ResetResult) {
	since := func(d time.Duration) time.Duration {
		if d == 0 || res.Timeline.Sent.IsZero() {
			return 0
		}
		return res.Timeline.Sent.Add(d).Sub(rep.Requested)
	}
	rep.Down, rep.AgentBack = since(res.Timeline.Acked), since(res.Timeline.AgentBack)
	rep.Ready = since(res.Timeline.Answered)
	rep.ServerRecovery, rep.RecoveryReported = res.ServerRecovery, res.RecoveryReported
	rep.FSCheck = res.FSCheck
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
