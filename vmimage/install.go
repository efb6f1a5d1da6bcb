package vmimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/crashrig/crashrig/qemu"
)

// Config is what an image is built from. Zero values take defaults.
type Config struct {
	OutDir    string // the VM directory to create
	QEMUShare string // QEMU's firmware directory, passed as -L
	Arch      string // only x86_64 for now
	MemMiB    int
	CPUs      int
	Accel     string // auto, tcg or kvm
	CacheDir  string // debootstrap packages and root filesystems
	Mirror    string // Debian mirror; default: the one apt uses
	Force     bool   // replace an existing non-empty OutDir
	// DCRTS is a linux/amd64 dcrts binary to install as the boot-time agent.
	// Empty leaves the image without an agent (init's hook then idles).
	DCRTS string
	// ExtraPackages are Debian packages a target needs beyond Packages
	// (its spec's install.packages): the root filesystem becomes a variant
	// with its own cache key.
	ExtraPackages []string
}

// Option adjusts an installer beyond its Config.
type Option func(*installer)

// WithLogf sends progress lines to logf (default: discarded).
func WithLogf(logf func(format string, args ...any)) Option {
	return func(in *installer) { in.progress = logf }
}

// WithoutVMSlot runs the installer's VMs without taking a host-wide VM
// slot (qemu.AcquireSlot). For builds that other processes wait for while
// holding slots, such as the shared test image, where a slot wait could
// deadlock.
func WithoutVMSlot() Option {
	return func(in *installer) { in.noSlot = true }
}

// Defaults.
const (
	DefaultMemMiB   = 1024
	DefaultCPUs     = 2
	rootDiskSize    = "4G"
	installerBoot   = 3 * time.Minute // first boot under TCG, cold caches
	installScript   = 3 * time.Minute
	guestPowerOff   = time.Minute
	postInstallBoot = 2 * time.Minute
)

// DefaultCacheDir is crashrig's directory under the user's cache directory.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "crashrig")
	}
	return filepath.Join(os.TempDir(), "crashrig-cache")
}

// installer carries one Install run through its steps.
type installer struct {
	cfg      Config
	progress func(string, ...any)
	noSlot   bool

	staging            string // the VM directory being written
	final              string // absolute OutDir
	log                *syncWriter
	rootfs             RootFS
	image              *Image
	pvh                bool // vmlinux (PVH entry) written beside vmlinuz
	clientKey, hostKey KeyPair
}

// step is one named stage of an install, in the style of firecracker's
// handler lists: errors name the step that failed.
type step struct {
	name string
	fn   func(ctx context.Context) error
}

// Install builds a VM directory at cfg.OutDir. It writes into a staging
// directory and renames it into place only when every step succeeded, so a
// failed install never leaves a directory that looks complete; its log stays
// in the staging directory, which the error names.
func Install(ctx context.Context, cfg Config, opts ...Option) (*Image, error) {
	in := &installer{cfg: cfg, progress: func(string, ...any) {}}
	for _, o := range opts {
		o(in)
	}
	if err := in.applyDefaults(); err != nil {
		return nil, err
	}
	if err := in.checkOut(); err != nil {
		return nil, err
	}
	if err := checkHost(in.cfg); err != nil {
		return nil, err
	}
	if err := in.prepareStaging(); err != nil {
		return nil, err
	}
	defer in.log.Close()

	steps := []step{
		{"root filesystem", in.buildRootFS},
		{"kernel and initramfs", in.writeBoot},
		{"accelerator", in.chooseAccel},
		{"root disk", in.makeDisk},
		{"installer VM", in.runInstaller},
		{"helper scripts", in.renderScripts},
		{"post-install", in.postInstall},
		{"finish", in.finish},
	}
	start := time.Now()
	for _, s := range steps {
		t := time.Now()
		in.logf("== step: %s", s.name)
		if err := s.fn(ctx); err != nil {
			in.logf("step %q failed after %s: %v", s.name, time.Since(t).Round(time.Millisecond), err)
			return nil, fmt.Errorf("install step %q: %w\n(install log: %s)", s.name, err, filepath.Join(in.staging, FileInstallLog))
		}
		in.logf("step %q done in %s", s.name, time.Since(t).Round(time.Millisecond))
	}
	in.logf("VM ready in %s: %s (start it with %s)", time.Since(start).Round(time.Millisecond), in.final, filepath.Join(in.final, FileRunScript))
	in.image.Dir = in.final
	return in.image, nil
}

func (in *installer) applyDefaults() error {
	c := &in.cfg
	if c.OutDir == "" {
		return errors.New("-out: the VM directory to create is required")
	}
	if c.Arch == "" {
		c.Arch = "x86_64"
	}
	if c.Arch != "x86_64" {
		return fmt.Errorf("-arch %q: only x86_64 is supported so far", c.Arch)
	}
	if c.MemMiB == 0 {
		c.MemMiB = DefaultMemMiB
	}
	if c.MemMiB < 256 {
		return fmt.Errorf("-mem %d: at least 256 MiB are needed", c.MemMiB)
	}
	if c.CPUs == 0 {
		c.CPUs = DefaultCPUs
	}
	if c.CPUs < 1 {
		return fmt.Errorf("-cpus %d: must be at least 1", c.CPUs)
	}
	switch c.Accel {
	case "":
		c.Accel = "auto"
	case "auto", "tcg", "kvm":
	default:
		return fmt.Errorf("-accel %q: want auto, tcg or kvm", c.Accel)
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir()
	}
	if c.Mirror == "" {
		c.Mirror = DefaultMirror()
	}
	if c.DCRTS != "" {
		if _, err := os.Stat(c.DCRTS); err != nil {
			return fmt.Errorf("-dcrts: %w", err)
		}
	}
	abs, err := filepath.Abs(c.OutDir)
	if err != nil {
		return err
	}
	in.final = abs
	return nil
}

// hostTools maps each program the installer runs to the Debian package
// that provides it.
var hostTools = []struct{ bin, pkg string }{
	{qemu.Binary, "qemu-system-x86"},
	{"qemu-img", "qemu-utils"},
	{"debootstrap", "debootstrap"},
	{"mkfs.ext4", "e2fsprogs"},
}

func checkHost(cfg Config) error {
	var missing []string
	var pkgs []string
	for _, t := range hostTools {
		if _, err := exec.LookPath(t.bin); err != nil {
			missing = append(missing, t.bin)
			pkgs = append(pkgs, t.pkg)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing host tools %s: install them with: apt-get install -y %s",
			strings.Join(missing, ", "), strings.Join(pkgs, " "))
	}
	if os.Geteuid() != 0 {
		return errors.New("the installer must run as root (debootstrap and mkfs.ext4 -d need to create root-owned files): run it with sudo")
	}
	if cfg.QEMUShare != "" {
		if fi, err := os.Stat(cfg.QEMUShare); err != nil || !fi.IsDir() {
			return fmt.Errorf("-qemushare %s: not a directory (it comes with: apt-get install -y qemu-system-data)", cfg.QEMUShare)
		}
	}
	return nil
}

// checkOut refuses to clobber an existing VM directory unless forced.
func (in *installer) checkOut() error {
	entries, err := os.ReadDir(in.final)
	switch {
	case err == nil && len(entries) > 0 && !in.cfg.Force:
		return fmt.Errorf("-out %s exists and is not empty: choose another directory or pass -force to replace it", in.final)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("-out %s: %w", in.final, err)
	}
	return nil
}

// prepareStaging opens the install log in a fresh staging directory beside
// the VM directory.
func (in *installer) prepareStaging() error {
	in.staging = in.final + ".partial"
	if err := os.RemoveAll(in.staging); err != nil {
		return fmt.Errorf("remove old staging dir: %w", err)
	}
	if err := os.MkdirAll(in.staging, 0o755); err != nil {
		return fmt.Errorf("staging dir: %w", err)
	}
	f, err := os.Create(filepath.Join(in.staging, FileInstallLog))
	if err != nil {
		return err
	}
	in.log = &syncWriter{w: f, c: f}
	return nil
}

// logf writes a progress line to the user and the install log.
func (in *installer) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.progress("%s", msg)
	fmt.Fprintf(in.log, "[crashrig-install %s] %s\n", time.Now().Format("15:04:05.000"), msg)
}

func (in *installer) buildRootFS(ctx context.Context) error {
	r, err := EnsureRootFS(ctx, in.cfg.CacheDir, in.cfg.Mirror, in.cfg.ExtraPackages, in.log, in.logf)
	in.rootfs = r
	return err
}

func (in *installer) writeBoot(ctx context.Context) error {
	if err := CopyFile(in.rootfs.Kernel(), filepath.Join(in.staging, FileKernel), 0o644); err != nil {
		return fmt.Errorf("copy kernel: %w", err)
	}
	if err := in.writePVHKernel(); err != nil {
		// vmlinuz still boots; only slower.
		in.logf("kernel: no PVH kernel, booting the bzImage: %v", err)
	}
	f, err := os.Create(filepath.Join(in.staging, FileInitrd))
	if err != nil {
		return err
	}
	if err := WriteInitramfs(f, in.rootfs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writePVHKernel unpacks the bzImage into the ELF kernel QEMU can enter
// directly (PVH): no decompression at every boot and reset (measured with
// qboot: 0.4 s faster from QEMU start to the initramfs under TCG; see
// docs/architecture.md).
func (in *installer) writePVHKernel() error {
	bz, err := os.ReadFile(in.rootfs.Kernel())
	if err != nil {
		return err
	}
	kernel, err := extractELF(bz)
	if err != nil {
		return err
	}
	if ok, err := hasPVHNote(kernel); err != nil || !ok {
		return fmt.Errorf("kernel has no PVH entry note (CONFIG_PVH): %v", err)
	}
	if err := os.WriteFile(filepath.Join(in.staging, FileKernelPVH), kernel, 0o644); err != nil {
		return err
	}
	in.pvh = true
	in.logf("kernel: %s (PVH entry, %d MB unpacked)", FileKernelPVH, len(kernel)>>20)
	return nil
}

func (in *installer) chooseAccel(ctx context.Context) error {
	in.image = &Image{
		Dir: in.staging, Arch: in.cfg.Arch, MemMiB: in.cfg.MemMiB, CPUs: in.cfg.CPUs,
		QEMUShare: in.cfg.QEMUShare, KernelVersion: in.rootfs.KernelVersion, PVH: in.pvh,
	}
	accel, why, err := qemu.ChooseAccel(ctx, in.cfg.Accel, in.image.Machine(), in.startOptions()...)
	if err != nil {
		return err
	}
	in.image.Accel = accel
	in.logf("accelerator: %s (%s)", accel, why)
	return nil
}

// startOptions are how the installer starts its VMs.
func (in *installer) startOptions() []qemu.StartOption {
	opts := []qemu.StartOption{qemu.WithLogf(in.logf)}
	if in.noSlot {
		opts = append(opts, qemu.WithoutSlot())
	}
	return opts
}

func (in *installer) makeDisk(ctx context.Context) error {
	raw := filepath.Join(in.staging, "root.raw")
	defer os.Remove(raw)
	if err := in.run(ctx, "mkfs.ext4", "-q", "-F", "-L", "crashrig-root", "-d", in.rootfs.Dir, raw, rootDiskSize); err != nil {
		return err
	}
	return in.run(ctx, "qemu-img", "convert", "-O", "qcow2", raw, filepath.Join(in.staging, FileDisk))
}

// run runs a host tool with its output in the install log.
func (in *installer) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = in.log, in.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// runInstaller boots the new disk with the install media attached, its serial
// console connected to our listener, and drives the console with go-expect.
func (in *installer) runInstaller(ctx context.Context) error {
	var err error
	if in.clientKey, err = NewKeyPair("crashrig@" + filepath.Base(in.final)); err != nil {
		return err
	}
	if in.hostKey, err = NewKeyPair("root@crashrig"); err != nil {
		return err
	}
	in.image.HostKey = strings.TrimSpace(string(in.hostKey.AuthorizedKey))
	if err := os.WriteFile(filepath.Join(in.staging, FileSSHKey), in.clientKey.PrivatePEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(in.staging, FileSSHKey+".pub"), in.clientKey.AuthorizedKey, 0o644); err != nil {
		return err
	}
	media, err := in.makeInstallMedia(ctx)
	if err != nil {
		return fmt.Errorf("install media: %w", err)
	}
	defer os.Remove(media)

	// The listener exists before QEMU starts: QEMU is the TCP client.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	m := in.image.Machine()
	m.Disks = append(m.Disks, qemu.Disk{Path: media, Format: "raw"})
	m.HostFwds = nil
	m.Serial = "tcp:" + ln.Addr().String()
	m.NoReboot = true
	vm, err := qemu.Start(ctx, m, in.log, in.startOptions()...)
	if err != nil {
		return err
	}
	defer vm.Kill()
	in.logf("qemu: %s", vm.CommandLine())

	conn, err := acceptContext(ctx, ln, 30*time.Second, vm)
	if err != nil {
		return fmt.Errorf("serial console: %w", err)
	}
	in.logf("got connection, running installer")
	if err := RunConsoleScript(ctx, conn, in.log, in.logf, InstallerSteps(installerRootPassword)); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, guestPowerOff)
	defer cancel()
	if err := vm.Wait(waitCtx); err != nil {
		return fmt.Errorf("installer VM did not exit after power-off: %w", err)
	}
	return nil
}

// InstallerSteps is the console script of the installer VM: log in, mount the
// install media, run install.sh, check its success marker, power off. Marker
// texts are computed by the guest shell (e.g. $((6*7))) so that the echo of
// the typed command never matches.
func InstallerSteps(password string) []ConsoleStep {
	return []ConsoleStep{
		{Name: "login prompt", Expect: `login: $`, Timeout: installerBoot, Send: "root",
			Done: "saw login prompt. Logging in."},
		{Name: "password prompt", Expect: `Password: ?$`, Timeout: 30 * time.Second, Send: password},
		{Name: "shell prompt", Expect: `# $`, Timeout: time.Minute, Send: "echo crashrig-shell-$((6*7))"},
		{Name: "shell", Expect: `crashrig-shell-42`, Timeout: 30 * time.Second,
			Done: "Logged in. Mounting floppy",
			Send: "mount -t ext4 -o ro /dev/vdb /mnt && echo crashrig-mounted-$((1+1))"},
		{Name: "mount install media", Expect: `crashrig-mounted-2`, Timeout: 30 * time.Second,
			Done: "Mounted storage. Running install.sh.",
			Send: "sh /mnt/install.sh; echo crashrig-install-rc=$?"},
		{Name: "install.sh", Expect: `crashrig-install-rc=[0-9]+`, Timeout: installScript,
			Check: func(out string) error {
				if !strings.Contains(out, "crashrig-install-rc=0") || !strings.Contains(out, "crashrig-install-success") {
					return errors.New("install.sh failed (no success marker): see its output above")
				}
				return nil
			},
			Done: "installer run successfully",
			Send: "umount /mnt; sync; busybox poweroff"},
		{Name: "power off", Expect: `Power down`, Timeout: guestPowerOff, Done: "installer VM powered off"},
	}
}

// makeInstallMedia writes a small ext4 image holding install.sh and the
// per-image files it installs.
func (in *installer) makeInstallMedia(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp(in.staging, "media-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := copyAsset("install.sh", filepath.Join(dir, "install.sh"), 0o755); err != nil {
		return "", err
	}
	files := map[string][]byte{
		"install.env":              []byte("HOSTNAME=crashrig\n"),
		"authorized_keys":          in.clientKey.AuthorizedKey,
		"ssh_host_ed25519_key":     in.hostKey.PrivatePEM,
		"ssh_host_ed25519_key.pub": in.hostKey.AuthorizedKey,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	img := filepath.Join(in.staging, "install-media.raw")
	if err := in.run(ctx, "mkfs.ext4", "-q", "-F", "-L", "crashrig-inst", "-d", dir, img, "16M"); err != nil {
		return "", err
	}
	return img, nil
}

func (in *installer) renderScripts(ctx context.Context) error {
	ports, err := qemu.FreePorts(2)
	if err != nil {
		return err
	}
	in.image.SSHPort, in.image.MySQLPort = ports[0], ports[1]
	in.image.Dir = in.staging
	return RenderScripts(in.staging, in.final, in.image)
}

// postInstall boots the finished disk, logs in over SSH with the image's
// key, installs the agent and shuts the guest down cleanly.
func (in *installer) postInstall(ctx context.Context) error {
	m := in.image.Machine()
	m.Serial = "stdio"
	m.NoReboot = true
	bootStart := time.Now()
	vm, err := qemu.Start(ctx, m, in.log, in.startOptions()...)
	if err != nil {
		return err
	}
	defer vm.Kill()
	cfg := sshConfig(in.clientKey.Signer, in.hostKey.Signer.PublicKey())
	dialCtx, cancel := context.WithTimeout(ctx, postInstallBoot)
	defer cancel()
	client, err := qemu.DialSSH(dialCtx, fmt.Sprintf("127.0.0.1:%d", in.image.SSHPort), cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	in.logf("post-install: sshd answered %s after boot start", time.Since(bootStart).Round(time.Millisecond))
	out, err := RunSSH(client, "uname -a")
	if err != nil {
		return err
	}
	in.logf("post-install: guest: %s", strings.TrimSpace(out))
	if in.cfg.DCRTS != "" {
		if _, err := RunSSH(client, "mkdir -p "+filepath.Dir(DCRTSPath)); err != nil {
			return err
		}
		if err := UploadFile(client, in.cfg.DCRTS, DCRTSPath, 0o755); err != nil {
			return fmt.Errorf("install dcrts: %w", err)
		}
		in.image.HasDCRTS = true
		in.logf("post-install: installed dcrts at %s (started by init at boot)", DCRTSPath)
	} else {
		in.logf("post-install: no dcrts binary given; the image's agent hook (/etc/crashrig/rc.dcrts) idles")
	}
	if _, err := RunSSH(client, "sync"); err != nil {
		return err
	}
	// The session dies with the guest; the exit of QEMU is what counts.
	RunSSH(client, "busybox poweroff")
	waitCtx, cancelWait := context.WithTimeout(ctx, guestPowerOff)
	defer cancelWait()
	if err := vm.Wait(waitCtx); err != nil {
		return fmt.Errorf("guest did not power off: %w", err)
	}
	return nil
}

func (in *installer) finish(ctx context.Context) error {
	in.image.Built = time.Now().UTC()
	if err := in.image.write(); err != nil {
		return err
	}
	in.log.Close()
	old := in.final + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(in.final); err == nil {
		if err := os.Rename(in.final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(in.staging, in.final); err != nil {
		return fmt.Errorf("move %s into place: %w", in.staging, err)
	}
	in.staging = in.final
	return os.RemoveAll(old)
}

// acceptContext accepts one connection, giving up with ctx, after timeout,
// or when QEMU exits first.
func acceptContext(ctx context.Context, ln net.Listener, timeout time.Duration, vm *qemu.Process) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		ln.Close()
		return nil, ctx.Err()
	case <-vm.Done():
		ln.Close()
		return nil, fmt.Errorf("qemu exited before connecting: %v", vm.ExitErr())
	case <-time.After(timeout):
		ln.Close()
		return nil, fmt.Errorf("qemu did not connect within %s", timeout)
	}
}

// CopyFile copies src to dst (created or truncated with mode).
func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncWriter serialises writes from the console pump, QEMU and log lines.
type syncWriter struct {
	mu     sync.Mutex
	w      io.Writer
	c      io.Closer
	closed bool
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *syncWriter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.c.Close()
}
