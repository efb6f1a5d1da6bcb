package qemu

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/crashrig/crashrig/blocklog"
)

// DataDiskAddr is the PCI slot of a VM's second disk (/dev/vdb): where
// Machine puts it at start and where a standby VM gets it hot-plugged, so
// the guest sees the same device either way.
const DataDiskAddr = pciDisk0 + 1

// HotplugCommands are the QMP commands that hot-plug d into a running
// machine as a virtio-blk disk at PCI slot addr under the device id id
// (block node id+"-node"): blockdev-add with the same cache semantics
// as Machine's -drive cache=mode, then device_add. The pc machine's ACPI
// PCI hot-plug announces it to the guest.
//
// A disk with a WriteLog is hot-plugged with its write log, as Machine
// starts it (blocklog.LoggedDisk; its node is named id).
func HotplugCommands(d Disk, id string, addr int) ([][]byte, error) {
	format := d.Format
	if format == "" {
		format = "qcow2"
	}
	if d.WriteLog != "" {
		return blocklog.LoggedDisk{ID: id + "-node", Path: d.Path, Format: format, Log: d.WriteLog, PCIAddr: addr}.QMPCommands(id)
	}
	if format != "qcow2" && format != "raw" {
		return nil, fmt.Errorf("hot-plug %s: format %q: want qcow2 or raw", d.Path, format)
	}
	// -drive cache=MODE is three switches: host page cache bypass
	// (direct), ignoring guest flushes (no-flush), and the device's
	// volatile write cache (write-cache).
	direct, noFlush, writeCache := false, false, true
	switch d.Cache {
	case "", "writeback":
	case "none":
		direct = true
	case "writethrough":
		writeCache = false
	case "directsync":
		direct, writeCache = true, false
	case "unsafe":
		noFlush = true
	default:
		return nil, fmt.Errorf("hot-plug %s: cache mode %q: want writeback, none, writethrough, directsync or unsafe", d.Path, d.Cache)
	}
	node := id + "-node"
	add := map[string]any{"execute": "blockdev-add", "arguments": map[string]any{
		"driver": format, "node-name": node,
		"cache": map[string]any{"direct": direct, "no-flush": noFlush},
		"file":  map[string]any{"driver": "file", "filename": d.Path},
	}}
	dev := map[string]any{"execute": "device_add", "arguments": map[string]any{
		"driver": "virtio-blk-pci", "id": id, "drive": node,
		"addr": fmt.Sprintf("%#x", addr), "write-cache": onOff(writeCache),
	}}
	var cmds [][]byte
	for _, c := range []any{add, dev} {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, b)
	}
	return cmds, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// SetPriority sets the CPU nice value of every thread of QEMU (Linux
// applies nice per thread) and its I/O class: best effort, or idle. A
// standby VM boots at the lowest priority, then runs at normal priority
// once it carries a server.
func (p *Process) SetPriority(nice int, ioIdle bool) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(p.Pid()), "task"))
	if err != nil {
		return fmt.Errorf("QEMU threads: %w", err)
	}
	// ioprio: class in the top bits (2 best effort, 3 idle), level 4 the
	// default for best effort.
	ioprio := 2<<13 | 4
	if ioIdle {
		ioprio = 3 << 13
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("QEMU thread %d: nice %d: %w", tid, nice, err)
		}
		const ioprioWhoProcess = 1
		if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(ioprio)); errno != 0 {
			return fmt.Errorf("QEMU thread %d: ioprio: %w", tid, errno)
		}
	}
	return nil
}
