package main

// I/O fault injection under the data directory (issue 13). With
// ProvisionServer.io_faults the data file system sits on a device-mapper
// device, normally one linear segment over the data disk; InjectFault
// swaps its table for one with error, flakey or delay segments and
// ClearFault swaps the linear table back. The two file-system kinds
// (DISK_FULL, READ_ONLY) need no device-mapper device. Nothing of a fault
// survives a reboot: the table is created linear at boot, the fill file
// is removed before the server starts, mounts start read-write.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
	"github.com/crashrig/crashrig/serverkind"
)

const (
	// dmName is the device-mapper device the data file system sits on
	// when io_faults is set.
	dmName = "crashrig-data"
	// fillFile (in the data directory) takes the free space for
	// DISK_FULL.
	fillFile = "crashrig-fill.tmp"
	// defaultDelayMillis for SLOW without a delay.
	defaultDelayMillis = 100
	// flakeyDownSeconds: a flakey segment that is up 0 s of every this
	// many seconds is down for good.
	flakeyDownSeconds = 1 << 30
)

var dmModules = []string{"dm_mod", "dm_flakey", "dm_delay"}

// dmPath is the device the file system is made on and mounted from.
func dmPath() string { return "/dev/mapper/" + dmName }

// sectorRange is a run of 512-byte sectors [start, start+count).
type sectorRange struct{ start, count int64 }

// faultState is the agent's current fault.
type faultState struct {
	mu     sync.Mutex
	kind   pb.IOFaultKind // UNSPECIFIED: none
	roMode string         // READ_ONLY: "remount" or "bind"
}

// fsDevice is the device mkfs and mount use for spec: the device-mapper
// device over the data disk when io_faults is set (created linear if it
// does not exist, reloaded linear if it does), else the disk itself.
func fsDevice(ctx context.Context, spec *pb.ProvisionServer) (string, error) {
	if !spec.GetIoFaults() {
		return spec.GetDevice(), nil
	}
	for _, mod := range dmModules {
		if out, err := exec.CommandContext(ctx, "modprobe", mod).CombinedOutput(); err != nil {
			return "", fmt.Errorf("modprobe %s: %w: %s", mod, err, out)
		}
	}
	size, err := deviceSectors(ctx, spec.GetDevice())
	if err != nil {
		return "", err
	}
	table := linearTable(spec.GetDevice(), size)
	if _, err := os.Stat(dmPath()); err == nil {
		return dmPath(), loadTable(ctx, table)
	}
	if err := dmsetup(ctx, table, "create", dmName, "--noudevsync"); err != nil {
		return "", err
	}
	// Without udev nobody else makes the /dev/mapper node.
	if err := dmsetup(ctx, "", "mknodes", dmName); err != nil {
		return "", err
	}
	return dmPath(), nil
}

// removeDM removes the device-mapper device (after the unmount).
func removeDM(ctx context.Context) {
	if _, err := os.Stat(dmPath()); err == nil {
		dmsetup(ctx, "", "remove", "--noudevsync", dmName)
	}
}

func dmsetup(ctx context.Context, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, "dmsetup", args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dmsetup %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// loadTable switches the device-mapper device to table. The suspend does
// not freeze the file system first (--nolockfs): a fault hits whatever
// is in flight, as a failing disk would.
func loadTable(ctx context.Context, table string) error {
	if err := dmsetup(ctx, "", "suspend", "--nolockfs", "--noudevsync", dmName); err != nil {
		return err
	}
	lerr := dmsetup(ctx, table, "load", dmName)
	// Resume in any case: a suspended device would hang the server.
	rerr := dmsetup(ctx, "", "resume", "--noudevsync", dmName)
	return errors.Join(lerr, rerr)
}

func deviceSectors(ctx context.Context, dev string) (int64, error) {
	out, err := exec.CommandContext(ctx, "blockdev", "--getsz", dev).Output()
	if err != nil {
		return 0, fmt.Errorf("blockdev --getsz %s: %w", dev, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("blockdev --getsz %s: %q: %w", dev, out, err)
	}
	return n, nil
}

func linearTable(dev string, size int64) string {
	return fmt.Sprintf("0 %d linear %s 0\n", size, dev)
}

// faultTable is a table over dev (size sectors) whose ranges get the
// fault segment and the rest linear. ranges must be sorted and disjoint.
func faultTable(dev string, size int64, ranges []sectorRange, segment func(start, count int64) string) string {
	var b strings.Builder
	var at int64
	for _, r := range ranges {
		start, end := max(r.start, at), min(r.start+r.count, size)
		if start >= end {
			continue
		}
		if start > at {
			fmt.Fprintf(&b, "%d %d linear %s %d\n", at, start-at, dev, at)
		}
		fmt.Fprintf(&b, "%d %d %s\n", start, end-start, segment(start, end-start))
		at = end
	}
	if at < size {
		fmt.Fprintf(&b, "%d %d linear %s %d\n", at, size-at, dev, at)
	}
	return b.String()
}

// mergeRanges sorts ranges and joins overlapping or touching ones.
func mergeRanges(rs []sectorRange) []sectorRange {
	slices.SortFunc(rs, func(a, b sectorRange) int { return int(min(max(a.start-b.start, -1), 1)) })
	var out []sectorRange
	for _, r := range rs {
		if r.count <= 0 {
			continue
		}
		if n := len(out); n > 0 && r.start <= out[n-1].start+out[n-1].count {
			out[n-1].count = max(out[n-1].count, r.start+r.count-out[n-1].start)
			continue
		}
		out = append(out, r)
	}
	return out
}

func sectorsIn(rs []sectorRange) int64 {
	var n int64
	for _, r := range rs {
		n += r.count
	}
	return n
}

// InjectFault starts a fault; one already active is cleared first.
func (m *serverManager) InjectFault(ctx context.Context, f *pb.InjectFault) (*pb.FaultResult, error) {
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	if spec == nil {
		return nil, errors.New("inject fault: no server is provisioned")
	}
	m.fault.mu.Lock()
	defer m.fault.mu.Unlock()
	if err := m.clearFault(ctx, spec); err != nil {
		return nil, fmt.Errorf("inject fault: clear the previous one: %w", err)
	}
	res, err := m.injectFault(ctx, spec, f)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", f.GetKind(), err)
	}
	m.log.Info("fault injected", "kind", f.GetKind(), "target", f.GetTarget(), "detail", res.GetDetail())
	return res, nil
}

func (m *serverManager) injectFault(ctx context.Context, spec *pb.ProvisionServer, f *pb.InjectFault) (*pb.FaultResult, error) {
	dev := spec.GetDevice()
	needDM := f.GetKind() == pb.IOFaultKind_WRITE_ERROR || f.GetKind() == pb.IOFaultKind_READ_ERROR || f.GetKind() == pb.IOFaultKind_SLOW
	if needDM && !spec.GetIoFaults() {
		return nil, errors.New("the server was provisioned without io_faults")
	}
	var size int64
	if needDM {
		var err error
		if size, err = deviceSectors(ctx, dev); err != nil {
			return nil, err
		}
	}
	switch f.GetKind() {
	case pb.IOFaultKind_WRITE_ERROR, pb.IOFaultKind_READ_ERROR:
		ranges, err := m.targetSectors(ctx, spec, f.GetTarget(), size)
		if err != nil {
			return nil, err
		}
		if len(ranges) == 0 {
			return nil, fmt.Errorf("target %q covers no sectors", f.GetTarget())
		}
		segment := func(start, _ int64) string {
			return fmt.Sprintf("flakey %s %d 0 %d 1 error_writes", dev, start, flakeyDownSeconds)
		}
		if f.GetKind() == pb.IOFaultKind_READ_ERROR {
			segment = func(int64, int64) string { return "error" }
		}
		if err := loadTable(ctx, faultTable(dev, size, ranges, segment)); err != nil {
			return nil, err
		}
		if f.GetKind() == pb.IOFaultKind_READ_ERROR {
			// Reads served from the page cache never reach the disk.
			syscall.Sync()
			if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
				m.log.Warn("drop caches", "err", err)
			}
		}
		m.fault.kind = f.GetKind()
		n := sectorsIn(ranges)
		return &pb.FaultResult{Detail: fmt.Sprintf("%d of %d sectors in %d ranges", n, size, len(ranges)), Sectors: n}, nil
	case pb.IOFaultKind_SLOW:
		ms := f.GetDelayMillis()
		if ms == 0 {
			ms = defaultDelayMillis
		}
		if err := loadTable(ctx, fmt.Sprintf("0 %d delay %s 0 %d\n", size, dev, ms)); err != nil {
			return nil, err
		}
		m.fault.kind = f.GetKind()
		return &pb.FaultResult{Detail: fmt.Sprintf("every I/O delayed %d ms", ms), Sectors: size}, nil
	case pb.IOFaultKind_DISK_FULL:
		n, err := fillFreeSpace(filepath.Join(m.paths.Data, fillFile))
		m.fault.kind = f.GetKind() // a partial fill is removed by the clear
		if err != nil {
			return nil, err
		}
		return &pb.FaultResult{Detail: fmt.Sprintf("fill file of %d bytes", n)}, nil
	case pb.IOFaultKind_READ_ONLY:
		mode, err := makeReadOnly(ctx, m.paths.Data)
		if err != nil {
			return nil, err
		}
		m.fault.kind, m.fault.roMode = f.GetKind(), mode
		return &pb.FaultResult{Detail: mode}, nil
	}
	return nil, fmt.Errorf("unknown fault kind %v", f.GetKind())
}

// ClearFault ends the current fault, if any.
func (m *serverManager) ClearFault(ctx context.Context) error {
	m.mu.Lock()
	spec := m.spec
	m.mu.Unlock()
	m.fault.mu.Lock()
	defer m.fault.mu.Unlock()
	if err := m.clearFault(ctx, spec); err != nil {
		return fmt.Errorf("clear fault: %w", err)
	}
	return nil
}

func (m *serverManager) clearFault(ctx context.Context, spec *pb.ProvisionServer) error {
	kind := m.fault.kind
	if kind == pb.IOFaultKind_IO_FAULT_UNSPECIFIED {
		return nil
	}
	var err error
	switch kind {
	case pb.IOFaultKind_WRITE_ERROR, pb.IOFaultKind_READ_ERROR, pb.IOFaultKind_SLOW:
		var size int64
		if size, err = deviceSectors(ctx, spec.GetDevice()); err == nil {
			err = loadTable(ctx, linearTable(spec.GetDevice(), size))
		}
	case pb.IOFaultKind_DISK_FULL:
		err = removeFill(m.paths.Data)
	case pb.IOFaultKind_READ_ONLY:
		err = undoReadOnly(ctx, m.paths.Data, m.fault.roMode)
	}
	if err != nil {
		return err
	}
	m.log.Info("fault cleared", "kind", kind)
	m.fault.kind, m.fault.roMode = pb.IOFaultKind_IO_FAULT_UNSPECIFIED, ""
	return nil
}

// targetSectors resolves an InjectFault target to sorted sector ranges.
func (m *serverManager) targetSectors(ctx context.Context, spec *pb.ProvisionServer, target string, size int64) ([]sectorRange, error) {
	switch target {
	case "":
		return []sectorRange{{0, size}}, nil
	case "free":
		var read func(context.Context, string) ([]sectorRange, error)
		switch spec.GetFsType() {
		case "ext4", "ext3", "ext2":
			read = ext4FreeSectors
		case "xfs":
			read = xfsFreeSectors
		default:
			return nil, fmt.Errorf("target free: not supported on %s", spec.GetFsType())
		}
		// The allocation maps on disk must be current and must not change
		// while they are read (dumpe2fs fails on a bitmap whose checksum
		// changed under it): read them with the file system frozen, which
		// flushes and checkpoints its journal (a sync does not).
		var ranges []sectorRange
		err := frozen(ctx, m.paths.Data, func(ctx context.Context) error {
			var err error
			ranges, err = read(ctx, dmPath())
			return err
		})
		return ranges, err
	}
	if filepath.IsAbs(target) || strings.Contains(target, "..") {
		return nil, fmt.Errorf("target %q: want a path relative to the data directory", target)
	}
	syscall.Sync() // delayed allocation: give the data its blocks
	var ranges []sectorRange
	err := filepath.WalkDir(filepath.Join(m.paths.Data, target), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the server removed or renamed it while we walked
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rs, err := fileSectors(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // e.g. a MANIFEST.tmp renamed between listing and open
		}
		ranges = append(ranges, rs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	return mergeRanges(ranges), nil
}

// fiemap mirrors struct fiemap with room for its extents (linux/fiemap.h).
type fiemap struct {
	start, length             uint64
	flags, mapped, count, res uint32
	extents                   [fiemapExtents]fiemapExtent
}

type fiemapExtent struct {
	logical, physical, length uint64
	_                         [2]uint64
	flags                     uint32
	_                         [3]uint32
}

const (
	fiemapExtents   = 256
	fsIocFiemap     = 0xC020660B // _IOWR('f', 11, struct fiemap)
	fiemapFlagSync  = 1
	fiemapExtLast   = 0x1
	fiemapExtUnkown = 0x2 | 0x4 // UNKNOWN | DELALLOC: no place on disk yet
)

// fileSectors is where path's data lies on its device.
func fileSectors(path string) ([]sectorRange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sectorRange
	var from uint64
	for {
		fm := fiemap{start: from, length: ^uint64(0) - from, flags: fiemapFlagSync, count: fiemapExtents}
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&fm))); e != 0 {
			return nil, fmt.Errorf("FIEMAP %s: %w", path, e)
		}
		if fm.mapped == 0 {
			return out, nil
		}
		for _, e := range fm.extents[:fm.mapped] {
			if e.flags&fiemapExtUnkown == 0 {
				out = append(out, sectorRange{int64(e.physical / 512), int64((e.length + 511) / 512)})
			}
			from = e.logical + e.length
			if e.flags&fiemapExtLast != 0 {
				return out, nil
			}
		}
	}
}

// FIFREEZE and FITHAW (linux/fs.h).
const (
	ioctlFreeze = 0xC0045877
	ioctlThaw   = 0xC0045878
)

// freezeTimeout bounds how long writers stall while frozen runs.
const freezeTimeout = 30 * time.Second

// frozen runs read with the file system mounted at dir frozen, and thaws
// it afterwards in every case.
func frozen(ctx context.Context, dir string, read func(context.Context) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, d.Fd(), ioctlFreeze, 0); e != 0 {
		return fmt.Errorf("freeze %s: %w", dir, e)
	}
	ctx, cancel := context.WithTimeout(ctx, freezeTimeout)
	err = read(ctx)
	cancel()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, d.Fd(), ioctlThaw, 0); e != 0 {
		return errors.Join(err, fmt.Errorf("thaw %s: %w", dir, e))
	}
	return err
}

// commandOutput is cmd's standard output; its error carries stderr.
func commandOutput(cmd *exec.Cmd) ([]byte, error) {
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return out, err
}

// ext4FreeSectors reads the free block ranges dumpe2fs lists per group.
func ext4FreeSectors(ctx context.Context, dev string) ([]sectorRange, error) {
	out, err := commandOutput(exec.CommandContext(ctx, "dumpe2fs", dev))
	if err != nil {
		return nil, fmt.Errorf("dumpe2fs %s: %w", dev, err)
	}
	return parseDumpe2fsFree(string(out))
}

func parseDumpe2fsFree(out string) ([]sectorRange, error) {
	var bs int64
	var ranges []sectorRange
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Block size:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dumpe2fs: block size %q", v)
			}
			bs = n
			continue
		}
		v, ok := strings.CutPrefix(line, "Free blocks: ")
		if !ok || bs == 0 {
			continue
		}
		for _, part := range strings.Split(v, ",") {
			a, b, found := strings.Cut(strings.TrimSpace(part), "-")
			if a == "" {
				continue
			}
			if !found {
				b = a
			}
			lo, err1 := strconv.ParseInt(a, 10, 64)
			hi, err2 := strconv.ParseInt(b, 10, 64)
			if err1 != nil || err2 != nil || hi < lo {
				return nil, fmt.Errorf("dumpe2fs: free blocks %q", part)
			}
			ranges = append(ranges, sectorRange{lo * bs / 512, (hi - lo + 1) * bs / 512})
		}
	}
	if bs == 0 {
		return nil, errors.New("dumpe2fs: no block size")
	}
	return mergeRanges(ranges), nil
}

// xfsFreeSectors reads the free extents xfs_db lists per allocation group.
func xfsFreeSectors(ctx context.Context, dev string) ([]sectorRange, error) {
	geo, err := commandOutput(exec.CommandContext(ctx, "xfs_db", "-r", "-c", "sb 0", "-c", "p blocksize agblocks", dev))
	if err != nil {
		return nil, fmt.Errorf("xfs_db %s: %w", dev, err)
	}
	free, err := commandOutput(exec.CommandContext(ctx, "xfs_db", "-r", "-c", "freesp -d", dev))
	if err != nil {
		return nil, fmt.Errorf("xfs_db freesp %s: %w", dev, err)
	}
	return parseXFSFree(string(geo), string(free))
}

func parseXFSFree(geo, free string) ([]sectorRange, error) {
	var bs, agblocks int64
	for _, line := range strings.Split(geo, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "blocksize":
			bs = n
		case "agblocks":
			agblocks = n
		}
	}
	if bs == 0 || agblocks == 0 {
		return nil, fmt.Errorf("xfs_db: no geometry in %q", geo)
	}
	var ranges []sectorRange
	for _, line := range strings.Split(free, "\n") {
		// Detailed lines are "agno agbno len"; the histogram after them
		// has other shapes.
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var v [3]int64
		ok := true
		for i := range v {
			n, err := strconv.ParseInt(f[i], 10, 64)
			ok = ok && err == nil
			v[i] = n
		}
		if ok {
			ranges = append(ranges, sectorRange{(v[0]*agblocks + v[1]) * bs / 512, v[2] * bs / 512})
		}
	}
	return mergeRanges(ranges), nil
}

// fillFreeSpace allocates every free block (root's reserve too: the
// server may run as root) to path and makes that durable; it returns the
// bytes taken. ENOSPC ends the fill: that is the point.
func fillFreeSpace(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	var size int64
	for chunk := int64(st.Bfree) * st.Bsize; chunk >= st.Bsize; {
		err := syscall.Fallocate(int(f.Fd()), 0, size, chunk)
		switch {
		case err == nil:
			size += chunk
		case errors.Is(err, syscall.ENOSPC):
			chunk /= 2
		default:
			return size, fmt.Errorf("fallocate %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return size, fmt.Errorf("fsync %s: %w", path, err)
	}
	return size, serverkind.SyncDir(filepath.Dir(path))
}

// removeFill removes the DISK_FULL fill file, durably (a reset right after
// the clear must not bring the full disk back).
func removeFill(dataDir string) error {
	err := os.Remove(filepath.Join(dataDir, fillFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return serverkind.SyncDir(dataDir)
}

// makeReadOnly makes the data directory read-only: a remount when the
// kernel allows it (no file open for writing), else a read-only bind
// mount on top, which fails new opens for writing and new files with
// EROFS while descriptors already open (and a process whose working
// directory is inside) keep the old, writable mount.
func makeReadOnly(ctx context.Context, dir string) (string, error) {
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err == nil {
		return "remount", nil
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("bind mount %s: %w", dir, err)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		syscall.Unmount(dir, syscall.MNT_DETACH)
		return "", fmt.Errorf("read-only bind mount %s: %w", dir, err)
	}
	return "bind", nil
}

func undoReadOnly(ctx context.Context, dir, mode string) error {
	switch mode {
	case "remount":
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, ""); err != nil {
			return fmt.Errorf("remount %s read-write: %w", dir, err)
		}
	case "bind":
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount read-only bind of %s: %w", dir, err)
		}
	}
	return nil
}
