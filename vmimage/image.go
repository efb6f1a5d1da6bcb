package vmimage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crashrig/crashrig/qemu"
)

// Files of a VM directory.
const (
	FileDisk   = "disk.qcow2"
	FileKernel = "vmlinuz"
	// FileKernelPVH is the same kernel unpacked (an ELF with a PVH entry),
	// booted instead of vmlinuz when the image has it (Image.PVH).
	FileKernelPVH  = "vmlinux"
	FileInitrd     = "initrd.img"
	FileInstallLog = "install.log"
	FileMySQLPort  = "MYSQL_PORT"
	FileSSHPort    = "SSH_PORT"
	FileRunScript  = "run.sh"
	FileSSHScript  = "ssh.sh"
	FileSCPScript  = "scp.sh"
	FileSSHConfig  = "ssh_config"
	FileSSHKey     = "id_ed25519"
	FileKnownHosts = "known_hosts"
	// FileManifest describes the image for programs (the control plane).
	FileManifest = "image.json"
)

// SSHHostAlias is the host name ssh_config and known_hosts use for the VM.
const SSHHostAlias = "crashrig"

// Guest facts every image shares.
const (
	GuestSSHPort   = 22
	GuestMySQLPort = 3306
	// GuestHostAddr is how the guest reaches host loopback through slirp.
	GuestHostAddr = "10.0.2.2"
	// DCRTSPath is where the agent lives in the guest; init runs it if present.
	DCRTSPath = "/usr/local/bin/dcrts"
)

// DefaultAppend is the kernel command line of a crashrig VM: quiet, serial
// console, root on the first virtio disk.
// Speculation mitigations only cost emulated cycles in a throwaway test VM.
const DefaultAppend = "console=ttyS0,115200 root=/dev/vda rw rootfstype=ext4 quiet loglevel=3 panic=-1 mitigations=off"

// Image is a finished VM directory.
type Image struct {
	Dir           string     `json:"-"`
	Arch          string     `json:"arch"`
	Accel         qemu.Accel `json:"accel"`
	MemMiB        int        `json:"mem_mib"`
	CPUs          int        `json:"cpus"`
	QEMUShare     string     `json:"qemu_share"`
	KernelVersion string     `json:"kernel_version"`
	SSHPort       int        `json:"ssh_port"`
	MySQLPort     int        `json:"mysql_port"`
	HostKey       string     `json:"ssh_host_key"` // authorized_keys format
	HasDCRTS      bool       `json:"has_dcrts"`
	// PVH: boot FileKernelPVH (QEMU enters the ELF kernel directly)
	// instead of the bzImage FileKernel.
	PVH   bool      `json:"pvh,omitempty"`
	Built time.Time `json:"built"`
}

// OpenImage reads the VM directory dir made by Install.
func OpenImage(dir string) (*Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return nil, fmt.Errorf("open VM image %s (build one with cmd/install): %w", dir, err)
	}
	var im Image
	if err := json.Unmarshal(b, &im); err != nil {
		return nil, fmt.Errorf("open VM image: %s: %w", filepath.Join(dir, FileManifest), err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	im.Dir = abs
	files := []string{FileDisk, FileKernel, FileInitrd, FileSSHKey}
	if im.PVH {
		files = append(files, FileKernelPVH)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(abs, f)); err != nil {
			return nil, fmt.Errorf("open VM image %s: incomplete: %w", dir, err)
		}
	}
	return &im, nil
}

func (im *Image) write() error {
	b, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(im.Dir, FileManifest), append(b, '\n'), 0o644)
}

// Path is the path of a file of the VM directory.
func (im *Image) Path(file string) string { return filepath.Join(im.Dir, file) }

// Machine is the QEMU description that boots this image's own disk with its
// recorded ports. Callers that must not modify the image (tests) replace
// Disks[0] with an overlay and HostFwds with ports of their own.
func (im *Image) Machine() qemu.Machine {
	return qemu.Machine{
		Accel: im.Accel, MemMiB: im.MemMiB, CPUs: im.CPUs,
		Kernel: im.Path(im.KernelFile()), Initrd: im.Path(FileInitrd), Append: DefaultAppend,
		Disks: []qemu.Disk{{Path: im.Path(FileDisk), Format: "qcow2"}},
		HostFwds: []qemu.HostFwd{
			{HostPort: im.SSHPort, GuestPort: GuestSSHPort},
			{HostPort: im.MySQLPort, GuestPort: GuestMySQLPort},
		},
		Extra: qemuShareArgs(im.QEMUShare),
		// qboot for a PVH kernel too: SeaBIOS entered it faster from a cold
		// start, but a reset, which reruns the firmware, came back ~0.35 s
		// later with SeaBIOS (it also runs virtio-net's iPXE ROM).
		BIOS: fastBIOS(im.QEMUShare),
	}
}

// KernelFile is the kernel the image boots: FileKernelPVH or FileKernel.
func (im *Image) KernelFile() string {
	if im.PVH {
		return FileKernelPVH
	}
	return FileKernel
}

func qemuShareArgs(dir string) []string {
	if dir == "" {
		return nil
	}
	return []string{"-L", dir}
}

// fastBIOS is qboot when QEMU ships it: it hands over to a -kernel ~0.5 s
// sooner than SeaBIOS under TCG (measured 2.9 s vs 3.4 s to the end of
// rc.boot).
func fastBIOS(qemuShare string) string {
	p := filepath.Join(qemuShare, "qboot.rom")
	if qemuShare == "" {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
