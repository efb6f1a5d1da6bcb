package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

// Provision formats the data disk, initialises and starts the server, and
// returns once it accepts MySQL connections with the requested account.
func (m *serverManager) Provision(ctx context.Context, spec *pb.ProvisionServer) (*pb.ProvisionResult, error) {
	m.op.Lock()
	defer m.op.Unlock()
	start := time.Now()
	if m.provisioned() {
		return nil, errors.New("a server is already provisioned: stop it with delete_data first")
	}
	if err := completeSpec(spec); err != nil {
		return nil, err
	}
	k, in, err := m.instance(spec)
	if err != nil {
		return nil, err
	}
	m.dropPrepared("a server is provisioned here")
	unmount(m.paths.Data) // a leftover mount of an earlier provisioning
	fsSpec, err := m.fsSpec(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := mkfs(ctx, fsSpec); err != nil {
		return nil, err
	}
	if err := mount(ctx, fsSpec, m.paths.Data); err != nil {
		return nil, err
	}
	if err := k.Init(ctx, in); err != nil {
		return nil, fmt.Errorf("initialise %s: %w", k.Name(), err)
	}
	p, err := m.start(k, in)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pb.ProvisionResult, error) {
		m.kill(p)
		return nil, err
	}
	if err := waitReady(ctx, k.AdminDSN(in), p); err != nil {
		return fail(fmt.Errorf("%s did not come up: %w", k.Name(), err))
	}
	if err := bootstrap(ctx, k, in); err != nil {
		return fail(fmt.Errorf("bootstrap %s: %w", k.Name(), err))
	}
	if err := waitReady(ctx, clientDSN(spec), p); err != nil {
		return fail(fmt.Errorf("%s: account check: %w", k.Name(), err))
	}
	// Everything mkfs, the initialisation and the bootstrap wrote must
	// survive a reset that comes right after this answer.
	syncFilesystems()
	if err := saveSpec(filepath.Join(m.paths.State, specFile), spec); err != nil {
		return fail(err)
	}
	m.setReady(spec, p, "")
	return &pb.ProvisionResult{Pid: int32(p.cmd.Process.Pid), Seconds: time.Since(start).Seconds()}, nil
}

// completeSpec fills in the defaults (ext4 on the data disk) and checks
// the error log patterns.
func completeSpec(spec *pb.ProvisionServer) error {
	if spec.GetFsType() == "" {
		spec.FsType = "ext4"
	}
	if spec.GetDevice() == "" {
		spec.Device = serverkind.GuestDataDevice
	}
	spec.MountOptions = mountOptions(spec.GetFsType(), spec.GetMountOptions())
	for _, p := range spec.GetErrorLogPatterns() {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("error log pattern %q: %w", p, err)
		}
	}
	return nil
}

// provisioned says whether a server is provisioned or running here.
func (m *serverManager) provisioned() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spec != nil || m.proc != nil
}

// Attach brings up, on a standby VM, a server provisioned elsewhere: its
// data disk has just been hot-plugged. It waits for the device, keeps the
// spec durably (so a later boot restores the server as after a reset),
// writes the kind's config on the root disk, then restores as after a boot:
// mount (the file system recovers here), start, wait, ServerReady. A
// failure is reported as RestoreFailed (and returned).
func (m *serverManager) Attach(ctx context.Context, spec *pb.ProvisionServer) (*pb.ProvisionResult, error) {
	m.op.Lock()
	defer m.op.Unlock()
	start := time.Now()
	if m.provisioned() {
		return nil, errors.New("attach: a server is already provisioned on this VM")
	}
	if spec == nil {
		return nil, errors.New("attach: no provisioning spec")
	}
	if err := completeSpec(spec); err != nil {
		return nil, err
	}
	prestarted, err := m.attach(ctx, spec)
	if err != nil {
		m.restoreFailed(spec, err)
		return nil, err
	}
	m.mu.Lock()
	pid := int32(0)
	if m.proc != nil {
		pid = int32(m.proc.cmd.Process.Pid)
	}
	m.mu.Unlock()
	return &pb.ProvisionResult{Pid: pid, Seconds: time.Since(start).Seconds(), Prestarted: prestarted}, nil
}

// attach reports whether the server is the one prepared ahead.
func (m *serverManager) attach(ctx context.Context, spec *pb.ProvisionServer) (prestarted bool, err error) {
	k, in, err := m.instance(spec)
	if err != nil {
		return false, err
	}
	waited, err := waitDevice(ctx, spec.GetDevice())
	if err != nil {
		return false, err
	}
	m.log.Info("data disk hot-plugged", "device", spec.GetDevice(), "waited", waited.Round(time.Millisecond))
	if c, ok := k.(serverkind.ConfigWriter); ok {
		if err := c.WriteConfig(in); err != nil {
			return false, fmt.Errorf("%s config: %w", k.Name(), err)
		}
	}
	if err := saveSpec(filepath.Join(m.paths.State, specFile), spec); err != nil {
		return false, err
	}
	m.mu.Lock()
	m.spec = spec
	m.mu.Unlock()
	return m.restore(ctx, spec, true)
}

// waitDevice waits until the block device node exists (the guest's ACPI
// hot-plug handler and virtio_blk probe create it a moment after QEMU's
// device_add returns).
func waitDevice(ctx context.Context, dev string) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, deviceTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(dev); err == nil {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("data disk %s did not appear: %w", dev, ctx.Err())
		case <-tick.C:
		}
	}
}

// Restore brings the provisioned server back after a boot: mount the data
// disk with the same options (the file system replays its journal; no
// mkfs), start the server, wait until it answers, report ServerReady. A
// failure is reported as RestoreFailed (and returned).
func (m *serverManager) Restore(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	if spec == nil {
		return nil
	}
	if _, err := m.restore(ctx, spec, false); err != nil {
		m.restoreFailed(spec, err)
		return err
	}
	return nil
}

// restore mounts the data disk and starts the server, or with
// usePrepared releases the process prepared ahead (an attach), then waits
// until it answers. It reports whether the server is the prepared one.
func (m *serverManager) restore(ctx context.Context, spec *pb.ProvisionServer, usePrepared bool) (prestarted bool, err error) {
	m.log.Info("restoring provisioned server", "kind", spec.GetKind())
	k, in, err := m.instance(spec)
	if err != nil {
		return false, err
	}
	killStale(filepath.Join(m.paths.Run, serverkind.PIDFileName), m.log)
	var fsCheck string
	if !isMounted(m.paths.Data) {
		fsSpec, err := m.fsSpec(ctx, spec)
		if err != nil {
			return false, err
		}
		if fsCheck, err = mountAfterCrash(ctx, fsSpec, m.paths.Data); err != nil {
			return false, err
		}
		m.log.Info("data disk mounted", "device", fsSpec.GetDevice(), "options", spec.GetMountOptions(), "boot_time_check", fsCheck)
	}
	// A fault does not outlive the boot it was injected in.
	if err := removeFill(m.paths.Data); err != nil {
		return false, fmt.Errorf("remove the disk-full fill file: %w", err)
	}
	var p *serverProc
	if usePrepared {
		p = m.releasePrepared(spec)
	}
	if p == nil {
		if p, err = m.start(k, in); err != nil {
			return false, err
		}
	}
	prestarted = usePrepared && p.gated
	ctx, cancel := context.WithTimeout(ctx, startTimeout(k))
	defer cancel()
	if err := waitReady(ctx, clientDSN(spec), p); err != nil {
		// An exited server was reported by its watcher already.
		return prestarted, fmt.Errorf("%s did not come back: %w", k.Name(), err)
	}
	m.setReady(spec, p, fsCheck)
	return prestarted, nil
}

// Stop stops the server (SIGTERM and wait when clean, else SIGKILL); with
// deleteData it also deletes the database and forgets the provisioning.
func (m *serverManager) Stop(ctx context.Context, clean, deleteData bool) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.expectExit()
		sig := syscall.SIGKILL
		if clean {
			sig = syscall.SIGTERM
		}
		p.cmd.Process.Signal(sig)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.cmd.Process.Kill()
			<-p.done
			if clean {
				return fmt.Errorf("server did not stop within %s of SIGTERM; killed", stopTimeout)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if clean && !p.exitedCleanly() {
			m.log.Warn("server stop was not clean", "state", p.stateString())
		}
	}
	if !deleteData {
		return nil
	}
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	m.fault.mu.Lock()
	if err := m.clearFault(ctx, spec); err != nil {
		// The unmount and the table's removal below end it anyway.
		m.log.Warn("delete data: clear fault", "err", err)
	}
	m.fault.kind = pb.IOFaultKind_IO_FAULT_UNSPECIFIED
	m.fault.mu.Unlock()
	if err := removeSpec(filepath.Join(m.paths.State, specFile)); err != nil {
		return err
	}
	m.mu.Lock()
	m.spec = nil
	m.mu.Unlock()
	entries, err := os.ReadDir(m.paths.Data)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(m.paths.Data, e.Name())); err != nil {
			return fmt.Errorf("delete data: %w", err)
		}
	}
	syncFilesystems()
	unmount(m.paths.Data)
	if spec != nil && spec.GetIoFaults() {
		removeDM(ctx)
	}
	return nil
}

// Detach undoes an Attach on a machine that samples crash states (see
// DetachServer): kill the server, unmount the data disk (no sync: the
// state is thrown away), remove the device-mapper table if any, forget
// the provisioning. The disk can then be unplugged and the next attached.
func (m *serverManager) Detach(ctx context.Context) error {
	if err := m.Stop(ctx, false, false); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	spec := m.spec
	m.spec, m.proc, m.ready = nil, nil, false
	m.mu.Unlock()
	m.health.SetServingStatus(healthService, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := removeSpec(filepath.Join(m.paths.State, specFile)); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	if isMounted(m.paths.Data) {
		if err := syscall.Unmount(m.paths.Data, 0); err != nil {
			return fmt.Errorf("detach: unmount %s: %w", m.paths.Data, err)
		}
	}
	if spec != nil && spec.GetIoFaults() {
		removeDM(ctx)
	}
	m.log.Info("server detached", "kind", spec.GetKind())
	return nil
}

// fsSpec is spec with the device the file system lives on: the
// device-mapper device when io_faults is set (faults.go).
func (m *serverManager) fsSpec(ctx context.Context, spec *pb.ProvisionServer) (*pb.ProvisionServer, error) {
	dev, err := fsDevice(ctx, spec)
	if err != nil {
		return nil, err
	}
	s := proto.CloneOf(spec)
	s.Device = dev
	return s, nil
}

// waitReady waits until the server answers dsn; it fails at once when the
// server exits, with its last log lines.
func waitReady(ctx context.Context, dsn string, p *serverProc) error {
	err := serverkind.WaitAnswer(ctx, dsn, p.done)
	if errors.Is(err, serverkind.ErrGone) {
		return fmt.Errorf("server exited (%s); last log lines:\n%s", p.stateString(), strings.Join(p.watcher.tail(), "\n"))
	}
	return err
}

func bootstrap(ctx context.Context, k serverkind.Kind, in serverkind.Instance) error {
	db, err := sql.Open("mysql", k.AdminDSN(in))
	if err != nil {
		return err
	}
	defer db.Close()
	return k.Bootstrap(ctx, db, in)
}

// loadSpec reads the durable provisioning spec; nil if none.
func loadSpec(path string) (*pb.ProvisionServer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning spec: %w", err)
	}
	spec := &pb.ProvisionServer{}
	if err := protojson.Unmarshal(b, spec); err != nil {
		return nil, fmt.Errorf("provisioning spec %s: %w", path, err)
	}
	return spec, nil
}

// saveSpec writes the spec durably (a reset right after must find it).
func saveSpec(path string, spec *pb.ProvisionServer) error {
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return serverkind.WriteFileDurable(path, b, 0o600)
}

// removeSpec forgets the provisioning durably.
func removeSpec(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return serverkind.SyncDir(filepath.Dir(path))
}
