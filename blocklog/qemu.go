package blocklog

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// LoggedDisk is a virtio-blk data disk whose every write, discard and flush
// QEMU's blklogwrites driver appends to a log on the host.
type LoggedDisk struct {
	// ID names the disk's block nodes (ID-file, ID-fmt, ID-logfile, ID)
	// and the device's drive.
	ID string
	// Path is the disk image; Format its format ("raw" or "qcow2"; default
	// raw). The log records guest sectors above the format driver, so the
	// crash-state builder's base image is the guest-visible raw content:
	// with raw, a plain copy of Path taken before QEMU starts.
	Path   string
	Format string
	// Log is the log file. Create it empty (CreateLog) before every start:
	// log-append=off rewrites the log from its start but does not shorten
	// the file, and a reader would take stale entries for new ones.
	Log string
	// PCIAddr is the device's PCI slot (fixed, so /dev/vdX stay stable).
	PCIAddr int
}

// QEMUArgs renders the disk as QEMU 7.2 arguments:
//
//	-blockdev driver=file,filename=PATH,node-name=ID-file
//	-blockdev driver=FORMAT,file=ID-file,node-name=ID-fmt
//	-blockdev driver=file,filename=LOG,node-name=ID-logfile
//	-blockdev driver=blklogwrites,node-name=ID,file=ID-fmt,log=ID-logfile,log-append=off
//	-device virtio-blk-pci,drive=ID,addr=PCIADDR,write-cache=on
//
// write-cache=on gives the guest a volatile write cache, so its kernel
// sends flushes and the log holds unflushed writes a power cut may lose;
// with write-cache=off QEMU flushes after every write and nothing is ever
// unflushed. Discards stay off (QEMU's default discard=ignore drops them
// before the logging driver), so logs hold writes and flushes only.
func (d LoggedDisk) QEMUArgs() ([]string, error) {
	if d.ID == "" || d.Path == "" || d.Log == "" {
		return nil, fmt.Errorf("logged disk: ID, Path and Log are required (%+v)", d)
	}
	if strings.ContainsAny(d.ID, ",= ") {
		return nil, fmt.Errorf("logged disk: bad node name %q", d.ID)
	}
	format := d.Format
	if format == "" {
		format = "raw"
	}
	if format != "raw" && format != "qcow2" {
		return nil, fmt.Errorf("logged disk: format %q, want raw or qcow2", format)
	}
	esc := func(s string) string { return strings.ReplaceAll(s, ",", ",,") }
	return []string{
		"-blockdev", fmt.Sprintf("driver=file,filename=%s,node-name=%s-file", esc(d.Path), d.ID),
		"-blockdev", fmt.Sprintf("driver=%s,file=%s-file,node-name=%s-fmt", format, d.ID, d.ID),
		"-blockdev", fmt.Sprintf("driver=file,filename=%s,node-name=%s-logfile", esc(d.Log), d.ID),
		"-blockdev", fmt.Sprintf("driver=blklogwrites,node-name=%s,file=%s-fmt,log=%s-logfile,log-append=off", d.ID, d.ID, d.ID),
		"-device", fmt.Sprintf("virtio-blk-pci,drive=%s,addr=%#x,write-cache=on", d.ID, d.PCIAddr),
	}, nil
}

// CreateLog creates path as an empty log file, truncating an old one.
func CreateLog(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("block log: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("block log: create %s: %w", path, err)
	}
	return nil
}

// QMPCommands are the QMP commands that hot-plug the disk into a running
// QEMU under device id devID: blockdev-add of the four nodes QEMUArgs
// makes, then device_add with the same device arguments.
func (d LoggedDisk) QMPCommands(devID string) ([][]byte, error) {
	if _, err := d.QEMUArgs(); err != nil { // the same checks
		return nil, err
	}
	format := d.Format
	if format == "" {
		format = "raw"
	}
	add := func(args map[string]any) map[string]any {
		return map[string]any{"execute": "blockdev-add", "arguments": args}
	}
	cmds := []map[string]any{
		add(map[string]any{"driver": "file", "filename": d.Path, "node-name": d.ID + "-file"}),
		add(map[string]any{"driver": format, "file": d.ID + "-file", "node-name": d.ID + "-fmt"}),
		add(map[string]any{"driver": "file", "filename": d.Log, "node-name": d.ID + "-logfile"}),
		add(map[string]any{"driver": "blklogwrites", "node-name": d.ID, "file": d.ID + "-fmt", "log": d.ID + "-logfile", "log-append": false}),
		{"execute": "device_add", "arguments": map[string]any{"driver": "virtio-blk-pci", "id": devID, "drive": d.ID,
			"addr": fmt.Sprintf("%#x", d.PCIAddr), "write-cache": "on"}},
	}
	out := make([][]byte, len(cmds))
	for i, c := range cmds {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
