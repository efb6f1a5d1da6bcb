package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// Standby templates. A standby used to be a full boot (10-30 s under TCG
// at the lowest priority beside a VM under traffic) plus the replay of
// the VM's installs (a 69 MB upload over slirp, ~30 s): longer than a
// crash cycle, so resets waited for their standby. Now one standby, the
// template, is booted, brought up to date (installs; the server started
// ahead at its gate when the spec has one), its agent parked (Park:
// stream and connection closed, polling its fw_cfg config) and the
// machine saved with QEMU's migration to a file. Every standby after it
// is a QEMU started with -incoming from that file over a fresh overlay
// of the template's root disk, with a config of its own: its agent
// resumes within a poll, reseeds the kernel's random number generator
// from the config's entropy, reports a boot id of its own and sets the
// clock from the Welcome. The template never had the data disk; a
// restored standby has no cached block, process or socket of any machine
// that had it, as with a booted standby.

// standbyTemplate is a saved standby.
type standbyTemplate struct {
	n     int
	dir   string
	state string // QEMU's migration stream
	root  string // the root overlay at the save: every restored overlay's backing file
	// installs is how many of the VM's installs it has; spec the
	// provisioning it prepared (its server waits at its gate in it, or
	// its warm-up directory is initialised; nil: none).
	installs int
	spec     *pb.ProvisionServer
}

// templateState is the VM's current template (under its own mutex, held
// while one is made: standbys starting meanwhile wait for it).
type templateState struct {
	mu      chanMutex
	current *standbyTemplate
	// broken: making one failed; standbys boot from then on.
	broken error
	count  int
}

// chanMutex is a mutex whose Lock gives up when ctx ends.
type chanMutex chan struct{}

func (m *chanMutex) lock(ctx context.Context) error {
	select {
	case *m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *chanMutex) unlock() { <-*m }

// stale says whether t lacks an install or was prepared (PrepareServer)
// for another provisioning than the VM's now (vm.mu held).
func (vm *VM) templateStale(t *standbyTemplate) bool {
	if t.installs < len(vm.installs) {
		return true
	}
	return vm.spec != nil && t.spec != vm.spec
}

// standbyTemplate returns a template that is up to date, making one if
// there is none or it is stale.
func (vm *VM) standbyTemplate(ctx context.Context) (*standbyTemplate, error) {
	ts := &vm.templates
	if err := ts.mu.lock(ctx); err != nil {
		return nil, err
	}
	defer ts.mu.unlock()
	vm.mu.Lock()
	t, broken := ts.current, ts.broken
	fresh := t != nil && !vm.templateStale(t)
	if !fresh && broken == nil {
		ts.count++
	}
	n := ts.count
	vm.mu.Unlock()
	if broken != nil {
		return nil, broken
	}
	if fresh {
		return t, nil
	}
	nt, err := vm.makeTemplate(ctx, n)
	if err != nil {
		if ctx.Err() == nil {
			vm.mu.Lock()
			ts.broken = err
			vm.mu.Unlock()
		}
		return nil, err
	}
	vm.mu.Lock()
	old := ts.current
	ts.current = nt
	vm.mu.Unlock()
	if old != nil {
		// Restored machines keep reading what they opened.
		os.RemoveAll(old.dir)
	}
	return nt, nil
}

// makeTemplate boots standby machine "templateN", brings it up to date,
// parks its agent and saves it.
func (vm *VM) makeTemplate(ctx context.Context, n int) (*standbyTemplate, error) {
	start := time.Now()
	t := &standbyTemplate{n: n, dir: filepath.Join(vm.dir, fmt.Sprintf("template%d", n))}
	t.state, t.root = filepath.Join(t.dir, "state"), filepath.Join(t.dir, "root.qcow2")
	q := &qemuVM{dir: filepath.Join(t.dir, "machine"), image: vm.spec0.Image,
		agentID: fmt.Sprintf("%s~template%d", vm.ID, n)}
	// The machine goes in any case; the template's files stay on success.
	defer vm.dropStandby(q)
	fail := func(err error) (*standbyTemplate, error) {
		os.RemoveAll(t.dir)
		return nil, fmt.Errorf("standby template %d: %w", n, err)
	}
	if err := vm.launchStandby(ctx, q); err != nil {
		return fail(err)
	}
	booted := time.Since(start)
	if err := vm.prepareStandbyServer(ctx, q); err != nil {
		vm.mu.Lock()
		warmUp := vm.spec.GetServer().GetStartGate() == nil
		vm.mu.Unlock()
		if !warmUp || ctx.Err() != nil {
			return fail(err)
		}
		// Only the warm-up's gain is lost (standbys skip it from now on).
		vm.logf("VM %s: standby template %d: %v", vm.ID, n, err)
	}
	vm.mu.Lock()
	s := q.standbySess
	t.installs, t.spec = q.installed, q.serverPrepared
	vm.mu.Unlock()
	if s == nil || s.isRetired() {
		return fail(errors.New("its agent went away"))
	}
	vm.mu.Lock()
	fsType := vm.spec.GetFsType()
	vm.mu.Unlock()
	if _, err := s.call(ctx, &pb.Command{Cmd: &pb.Command_Park{Park: &pb.Park{FsType: fsType}}}); err != nil {
		return fail(fmt.Errorf("park the agent: %w", err))
	}
	// Its stream is closed before the save: no restored machine has a
	// socket of it.
	if err := vm.waitOnMachine(ctx, q, "the parked agent of "+q.agentID+" to close its stream", s.isRetired); err != nil {
		return fail(err)
	}
	if err := vm.saveMachine(ctx, q, t.state); err != nil {
		return fail(err)
	}
	// Saved: the machine is paused for good.
	q.proc.Kill()
	select {
	case <-q.proc.Done():
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := os.Rename(q.root, t.root); err != nil {
		return fail(err)
	}
	st, _ := os.Stat(t.state)
	vm.logf("VM %s: standby template %d saved (%d MB): booted and up to date after %s, saved after %s",
		vm.ID, n, st.Size()>>20, booted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return t, nil
}

// saveMachine writes q's state to path with QEMU's migration (q pauses
// when it completes) and waits for it to complete.
func (vm *VM) saveMachine(ctx context.Context, q *qemuVM, path string) error {
	cmd, err := json.Marshal(map[string]any{"execute": "migrate",
		"arguments": map[string]any{"uri": "exec:cat > " + shellQuote(path)}})
	if err != nil {
		return err
	}
	if err := vm.qmpRunOn(ctx, q, string(cmd)); err != nil {
		return fmt.Errorf("QMP migrate: %w", err)
	}
	for {
		raw, err := q.mon.Run([]byte(`{"execute":"query-migrate"}`))
		if err != nil {
			return fmt.Errorf("QMP query-migrate: %w", err)
		}
		var r struct {
			Return struct {
				Status    string `json:"status"`
				ErrorDesc string `json:"error-desc"`
			} `json:"return"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("QMP query-migrate: %w", err)
		}
		switch r.Return.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("save to %s: migration %s: %s", path, r.Return.Status, r.Return.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.proc.Done():
			return errors.New("QEMU exited during the save")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// incoming is the -incoming source that restores a machine from t.
func (t *standbyTemplate) incoming() string { return "exec:cat " + shellQuote(t.state) }

// newResume is a restored machine's resume id and entropy.
func newResume() (id string, entropy []byte, err error) {
	b := make([]byte, 8+64)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(b[:8]), b[8:], nil
}

// shellQuote quotes s for /bin/sh (QEMU runs an exec: migration URI
// through it).
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ParkAgent parks the VM's agent (Park): it answers, closes its stream
// and waits to be resumed in a machine restored from a snapshot. Templates
// park their standby's agent this way; it is exported for the agent's own
// tests.
func (vm *VM) ParkAgent(ctx context.Context) error {
	_, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_Park{Park: &pb.Park{}}})
	return err
}
