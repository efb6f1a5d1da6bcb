package qemu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crashrig/crashrig/blocklog"
)

// Accel is the QEMU accelerator a VM runs under.
type Accel string

const (
	// AccelTCG is QEMU's software emulation. tb-size=256 (MiB) keeps the
	// translation cache, which a reset throws away, below its default
	// (1 GiB made a reset slower), yet large enough to hold a warmed-up
	// server's code until its real start on a standby: with 64 MiB the
	// buffer filled and was flushed, and MariaDB's standby restart took
	// ~0.3-0.5 s longer (2026-11-30, interleaved runs).
	AccelTCG Accel = "tcg"
	// AccelKVM is hardware virtualisation; it is chosen only after a probe boot
	// proved it works (on some hosts /dev/kvm exists but guests hang).
	AccelKVM Accel = "kvm"
)

// qemuArg is the -accel value for a.
func (a Accel) qemuArg() string {
	if a == AccelKVM {
		return "kvm"
	}
	return "tcg,tb-size=256"
}

// PCI slots of the devices every crashrig VM has. Fixed addresses keep
// /dev/vda, /dev/vdb, ... stable whatever order the devices are given in.
const (
	pciNet     = 3
	pciRNG     = 4
	pciDisk0   = 5 // root disk: /dev/vda
	pciDiskMax = 5 + 8
)

// Disk is a virtio block device. Disks get /dev/vda, /dev/vdb, ... in order.
type Disk struct {
	Path   string
	Format string // "qcow2" or "raw"
	// Cache is QEMU's -drive cache= mode; empty means QEMU's default
	// (writeback). It decides what the host keeps of the guest's writes
	// when QEMU itself dies; a guest reset loses none of them in any mode.
	Cache string
	// WriteLog, when set, is a file that QEMU's blklogwrites driver fills
	// with every write and flush the guest sends to this disk, in
	// dm-log-writes format (blocklog.LoggedDisk: created empty, write
	// cache on). Cache is then not used: the log records guest sectors
	// and the power-cut model needs the guest's volatile write cache.
	WriteLog string
}

// FwCfg is a file QEMU hands to the guest through fw_cfg: the guest reads
// it at /sys/firmware/qemu_fw_cfg/by_name/NAME/raw. Only the file's path is
// in QEMU's arguments, so a secret in a 0600 file stays out of
// /proc/PID/cmdline, which every local user can read.
type FwCfg struct {
	Name string // e.g. opt/crashrig/agent
	File string // host file (QEMU reads it at start)
}

// HostFwd forwards a port on host loopback to a guest TCP port.
type HostFwd struct {
	HostPort  int
	GuestPort int
}

// Machine describes one QEMU invocation. Args renders it; nothing here
// starts a process, so the same description serves the installer, the
// rendered run.sh and the control plane.
type Machine struct {
	Accel  Accel
	MemMiB int
	CPUs   int

	Kernel string
	Initrd string
	Append string // kernel command line
	// BIOS is firmware for -bios; empty means QEMU's default (SeaBIOS).
	BIOS string

	Disks    []Disk
	HostFwds []HostFwd

	// Serial is the -serial backend, e.g. "stdio", "mon:stdio",
	// "tcp:127.0.0.1:4444" or "file:/path/console.log".
	Serial string
	// QMPSocket, when set, is a unix socket path for QMP.
	QMPSocket string
	// NoReboot makes a guest reboot exit QEMU (used by the installer, whose
	// guest powers off when done).
	NoReboot bool
	// FwCfg files are handed to the guest (see FwCfg).
	FwCfg []FwCfg
	// Incoming, if set, restores the machine from a migration stream
	// (-incoming, e.g. "exec:cat FILE") instead of booting it; the rest
	// of the machine must be the saved one's.
	Incoming string
	Extra    []string
}

// Args renders the QEMU command line (without the binary).
func (m Machine) Args() ([]string, error) {
	if m.Kernel == "" || m.Initrd == "" {
		return nil, fmt.Errorf("qemu machine: kernel and initrd are required")
	}
	if len(m.Disks) > pciDiskMax-pciDisk0 {
		return nil, fmt.Errorf("qemu machine: %d disks, at most %d", len(m.Disks), pciDiskMax-pciDisk0)
	}
	mem, cpus := m.MemMiB, m.CPUs
	if mem <= 0 {
		mem = 1024
	}
	if cpus <= 0 {
		cpus = 1
	}
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
		"-machine", "pc", "-accel", m.Accel.qemuArg(),
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-kernel", m.Kernel, "-initrd", m.Initrd, "-append", m.Append,
	}
	if m.Accel == AccelKVM {
		args = append(args, "-cpu", "host")
	}
	if m.BIOS != "" {
		args = append(args, "-bios", m.BIOS)
	}
	for i, d := range m.Disks {
		format := d.Format
		if format == "" {
			format = "qcow2"
		}
		if d.WriteLog != "" {
			logged, err := blocklog.LoggedDisk{ID: fmt.Sprintf("disk%d", i), Path: d.Path, Format: format,
				Log: d.WriteLog, PCIAddr: pciDisk0 + i}.QEMUArgs()
			if err != nil {
				return nil, fmt.Errorf("qemu machine: disk %d: %w", i, err)
			}
			args = append(args, logged...)
			continue
		}
		drive := fmt.Sprintf("file=%s,if=none,id=disk%d,format=%s", qemuEscape(d.Path), i, format)
		if d.Cache != "" {
			drive += ",cache=" + d.Cache
		}
		args = append(args, "-drive", drive,
			"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d,addr=%#x", i, pciDisk0+i))
	}
	netdev := "user,id=net0"
	for _, f := range m.HostFwds {
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", f.HostPort, f.GuestPort)
	}
	args = append(args,
		"-netdev", netdev, "-device", fmt.Sprintf("virtio-net-pci,netdev=net0,addr=%#x", pciNet),
		// Without an entropy source sshd waits ~1 s at boot.
		"-device", fmt.Sprintf("virtio-rng-pci,addr=%#x", pciRNG))
	if m.Serial != "" {
		args = append(args, "-serial", m.Serial)
	}
	if m.QMPSocket != "" {
		// -chardev's path= takes any path (commas doubled); -qmp's
		// "unix:PATH" shorthand fails on a path with '=' in it, which a
		// test directory named after a subtest like seed=1 has.
		args = append(args,
			"-chardev", "socket,id=qmp0,path="+qemuEscape(m.QMPSocket)+",server=on,wait=off",
			"-mon", "chardev=qmp0,mode=control")
	}
	if m.NoReboot {
		args = append(args, "-no-reboot")
	}
	for _, f := range m.FwCfg {
		if !strings.HasPrefix(f.Name, "opt/") {
			return nil, fmt.Errorf("qemu machine: fw_cfg name %q must start with opt/", f.Name)
		}
		args = append(args, "-fw_cfg", fmt.Sprintf("name=%s,file=%s", qemuEscape(f.Name), qemuEscape(f.File)))
	}
	if m.Incoming != "" {
		args = append(args, "-incoming", m.Incoming)
	}
	return append(args, m.Extra...), nil
}

// qemuEscape doubles commas, QEMU's escape inside option values.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }
