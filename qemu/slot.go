package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment variables of the host-wide VM slots.
const (
	// EnvSlots overrides how many VMs may run at once on this host.
	EnvSlots = "CRASHRIG_VM_SLOTS"
	// EnvSlotDir overrides where the slot lock files live.
	EnvSlotDir = "CRASHRIG_VM_SLOT_DIR"
)

// slotPoll is how often a waiting process tries the slots again; the wait
// is reported every slotReport.
const (
	slotPoll   = 200 * time.Millisecond
	slotReport = 30 * time.Second
)

// Slots is how many VMs may run at once on this host: $CRASHRIG_VM_SLOTS,
// else one per two cores (at least one). A TCG guest under load keeps a
// core busy, and the test process driving it needs the other.
func Slots() (int, error) {
	if v := os.Getenv(EnvSlots); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("$%s=%q: want a whole number >= 1", EnvSlots, v)
		}
		return n, nil
	}
	return max(runtime.NumCPU()/2, 1), nil
}

// SlotDir is where the slot lock files live: $CRASHRIG_VM_SLOT_DIR, else
// vm-slots in crashrig's cache directory, which every process of a user
// shares.
func SlotDir() string {
	if d := os.Getenv(EnvSlotDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "crashrig", "vm-slots")
	}
	return filepath.Join(os.TempDir(), "crashrig-vm-slots")
}

// processSlot is the one slot this process holds while any of its VMs
// runs: the VMs of one process (a test binary) share it, so a test that
// needs two VMs at once cannot deadlock against a limit of one.
var processSlot = struct {
	turn chan struct{} // a one-token lock that a ctx can abandon
	mu   sync.Mutex
	refs int
	f    *os.File
}{turn: make(chan struct{}, 1)}

// AcquireSlot waits until this process may run a VM, bounded by ctx, and
// returns its release (safe to call twice). The first holder in a process
// takes one of Slots() lock files (flock: the kernel frees it when the
// process dies, even on SIGKILL); later holders in the same process share
// it. A wait is reported through logf with the holders' pids and commands.
func AcquireSlot(ctx context.Context, logf func(format string, args ...any)) (release func(), err error) {
	select {
	case processSlot.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a VM slot: %w", ctx.Err())
	}
	defer func() { <-processSlot.turn }()
	// Check and count in one critical section: a release between them
	// could unlock the file while this caller counts itself a sharer.
	// Holding turn, only releases change refs, and they only lower it, so
	// refs == 0 stays true while lockFreeSlot waits.
	processSlot.mu.Lock()
	held := processSlot.refs > 0
	if held {
		processSlot.refs++
	}
	processSlot.mu.Unlock()
	if !held {
		f, err := lockFreeSlot(ctx, logf)
		if err != nil {
			return nil, err
		}
		processSlot.mu.Lock()
		processSlot.f = f
		processSlot.refs++
		processSlot.mu.Unlock()
	}
	var once sync.Once
	return func() { once.Do(releaseSlot) }, nil
}

func releaseSlot() {
	processSlot.mu.Lock()
	defer processSlot.mu.Unlock()
	processSlot.refs--
	if processSlot.refs > 0 || processSlot.f == nil {
		return
	}
	_ = syscall.Flock(int(processSlot.f.Fd()), syscall.LOCK_UN)
	_ = processSlot.f.Close()
	processSlot.f = nil
}

// lockFreeSlot takes the first free slot file, polling until one is free.
// Waiters queue at a turnstile first: a process that releases its slot and
// asks again at once (the next test of a package) must pass the turnstile
// that a waiter holds, so waiters are not starved by fast re-acquirers.
func lockFreeSlot(ctx context.Context, logf func(format string, args ...any)) (*os.File, error) {
	n, err := Slots()
	if err != nil {
		return nil, err
	}
	dir := SlotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("VM slots: %w", err)
	}
	w := &slotWait{dir: dir, n: n, start: time.Now(), logf: logf}
	turnstile, err := w.poll(ctx, func() (*os.File, int, error) {
		f, err := tryLock(filepath.Join(dir, "turnstile"))
		return f, -1, err
	})
	if err != nil {
		return nil, err
	}
	defer turnstile.Close() // closing the last descriptor unlocks it
	return w.poll(ctx, func() (*os.File, int, error) {
		for i := range n {
			f, err := tryLock(filepath.Join(dir, fmt.Sprintf("slot-%d", i)))
			if f != nil || err != nil {
				return f, i, err
			}
		}
		return nil, 0, nil
	})
}

// slotWait is one process's wait for a slot, reported as it goes.
type slotWait struct {
	dir      string
	n        int
	start    time.Time
	reported time.Time
	logf     func(format string, args ...any)
}

// poll calls try until it returns a file, an error, or ctx ends.
func (w *slotWait) poll(ctx context.Context, try func() (*os.File, int, error)) (*os.File, error) {
	for {
		f, i, err := try()
		if err != nil {
			return nil, err
		}
		if f != nil {
			if waited := time.Since(w.start); i >= 0 && !w.reported.IsZero() && w.logf != nil {
				w.logf("VM slot %d of %d: got it after waiting %s", i+1, w.n, waited.Round(time.Millisecond))
			}
			return f, nil
		}
		if w.logf != nil && time.Since(w.reported) >= slotReport {
			verb := "waiting"
			if !w.reported.IsZero() {
				verb = fmt.Sprintf("still waiting (%s)", time.Since(w.start).Round(time.Second))
			}
			w.logf("VM slots: %s: all %d busy (%s; set $%s to allow more VMs at once)", verb, w.n, holders(w.dir, w.n), EnvSlots)
			w.reported = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting %s for one of %d VM slots (%s): %w", time.Since(w.start).Round(time.Second), w.n, holders(w.dir, w.n), ctx.Err())
		case <-time.After(slotPoll):
		}
	}
}

// tryLock returns the locked file, or nil if another process holds it.
// The file records its holder for the waiters' messages.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("VM slot: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, nil
		}
		return nil, fmt.Errorf("VM slot %s: flock: %w", path, err)
	}
	who := fmt.Sprintf("pid %d %s", os.Getpid(), filepath.Base(os.Args[0]))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(who+"\n"), 0)
	}
	return f, nil
}

// holders names who holds the slots, as their files say.
func holders(dir string, n int) string {
	var out []string
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("slot-%d", i)))
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			out = append(out, "held by "+s)
		}
	}
	if len(out) == 0 {
		return "holders unknown"
	}
	return strings.Join(out, ", ")
}
