package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// Standby templates (controlplane/template.go): the control plane boots a
// standby once, parks its agent (Park) and saves the machine with QEMU's
// migration to a file; every later standby is a QEMU restored from that
// file, with a config of its own in fw_cfg. The parked agent polls its
// config, and in a restored machine finds the new one: it reseeds the
// kernel's random number generator, takes a boot id of its own, connects,
// and sets the clock from the control plane's Welcome.

// resumePoll is how often a parked agent reads its config: the time from
// a restore to the agent's first dial.
const resumePoll = 20 * time.Millisecond

// bootIDFor is the boot id the agent reports: the kernel's, plus the
// resume id of a machine restored from a template (every such machine
// shares the template's kernel boot id).
func bootIDFor(kernelBootID string, cfg config) string {
	if cfg.ResumeID == "" {
		return kernelBootID
	}
	return kernelBootID + "~" + cfg.ResumeID
}

// park readies the agent for a snapshot: refused with a server
// provisioned (a template holds no data disk); a server started ahead
// (PrepareServer) stays, waiting at its gate.
func (a *Agent) park(ctx context.Context, fsType string) error {
	if a.cfgPath == "" {
		return errors.New("park: the agent's config has no file to watch for a resume")
	}
	if a.server.provisioned() {
		return errors.New("park: a server is provisioned on this machine")
	}
	if fsType != "" {
		// Only a cost saved: a failure leaves the load to the first mount.
		if err := a.loadModule(ctx, fsType); err != nil {
			a.log.Warn("park: load the file system's module ahead", "fs", fsType, "err", err)
		}
	}
	a.parking.Store(true)
	a.log.Info("parking: the stream closes; waiting for a restored machine's config")
	return nil
}

// loadModule loads the kernel module of file system fsType, if it is one
// (modprobe of a built-in or loaded one succeeds at once).
func (a *Agent) loadModule(ctx context.Context, fsType string) error {
	if a.modprobe == nil {
		return nil
	}
	return a.modprobe(ctx, fsType)
}

// modprobe runs modprobe for a module (init's PATH may lack /sbin).
func modprobe(ctx context.Context, module string) error {
	bin := "modprobe"
	for _, p := range []string{"/sbin/modprobe", "/usr/sbin/modprobe"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if out, err := exec.CommandContext(ctx, bin, module).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, module, err, out)
	}
	return nil
}

// awaitResume waits until the config names a new resume id (the machine
// was restored from the snapshot taken while parked), then takes it.
func (a *Agent) awaitResume(ctx context.Context) error {
	parkedAs := a.cfg.ResumeID
	tick := time.NewTicker(resumePoll)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		cfg, err := readConfig(a.cfgPath)
		if err != nil {
			// Logged once per distinct error: a bad config is the control
			// plane's bug, and the parked agent keeps waiting for a good one.
			if err.Error() != lastErr {
				a.log.Error("parked: config", "err", err)
				lastErr = err.Error()
			}
			continue
		}
		if cfg.ResumeID == "" || cfg.ResumeID == parkedAs {
			continue
		}
		return a.resume(cfg)
	}
}

// resume makes the agent the restored machine's: random state first
// (nothing may draw from the template's), then identity.
func (a *Agent) resume(cfg config) error {
	if err := a.reseed(cfg.Entropy); err != nil {
		return fmt.Errorf("reseed the random number generator: %w", err)
	}
	a.useConfig(cfg, a.cfgPath)
	a.parking.Store(false)
	a.log.Info("resumed from a standby template", "vm", cfg.VMID, "boot_id", a.bootID,
		"seed", fmt.Sprintf("%x", sha256.Sum256(cfg.Entropy))[:12])
	return nil
}

// welcomed applies a Welcome: an agent of a restored machine sets the
// clock, which stands where the snapshot was taken.
func (a *Agent) welcomed(w *pb.Welcome) {
	if a.cfg.ResumeID == "" || w.GetHostUnixNanos() == 0 {
		return
	}
	before := time.Now()
	if err := a.setClock(w.GetHostUnixNanos()); err != nil {
		a.log.Error("set the clock from the control plane's", "err", err)
		return
	}
	a.log.Info("clock set from the control plane's", "was_off_by", before.Sub(time.Unix(0, w.GetHostUnixNanos())).Round(time.Millisecond))
}

// Linux random(4) ioctls (include/uapi/linux/random.h).
const (
	rndAddEntropy  = 0x40085203 // _IOW('R', 0x03, int[2])
	rndReseedCRNG  = 0x5207     // _IO('R', 0x07)
	randomDevice   = "/dev/urandom"
	maxSeedCredits = 4096 // bytes; the kernel caps a credit anyway
)

// reseedRandom mixes seed into the kernel's input pool, credited as full
// entropy (it comes from the host's crypto/rand), and forces the CRNG to
// reseed from it at once: without the reseed, a restored machine's CRNG
// would go on from the snapshot's key until its next scheduled reseed.
func reseedRandom(seed []byte) error {
	if len(seed) == 0 || len(seed) > maxSeedCredits {
		return fmt.Errorf("seed of %d bytes", len(seed))
	}
	f, err := os.OpenFile(randomDevice, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+len(seed))
	binary.NativeEndian.PutUint32(info[0:], uint32(len(seed)*8))
	binary.NativeEndian.PutUint32(info[4:], uint32(len(seed)))
	copy(info[8:], seed)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndAddEntropy, uintptr(unsafe.Pointer(&info[0]))); errno != 0 {
		return fmt.Errorf("RNDADDENTROPY: %w", errno)
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), rndReseedCRNG, 0); errno != 0 {
		return fmt.Errorf("RNDRESEEDCRNG: %w", errno)
	}
	return nil
}

// setRealtimeClock sets the machine's wall clock.
func setRealtimeClock(unixNanos int64) error {
	ts := unix.NsecToTimespec(unixNanos)
	return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
}
