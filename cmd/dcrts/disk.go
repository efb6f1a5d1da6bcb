package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// mountOptions completes the requested mount options with what the kernel
// demands: ext4 data=journal does not work with delayed allocation, so it
// gets nodelalloc (as modern kernels' own defaults would require).
func mountOptions(fsType, opts string) string {
	var list []string
	for _, o := range strings.Split(opts, ",") {
		if o = strings.TrimSpace(o); o != "" {
			list = append(list, o)
		}
	}
	if fsType == "ext4" && slices.Contains(list, "data=journal") && !slices.Contains(list, "nodelalloc") {
		list = append(list, "nodelalloc")
	}
	return strings.Join(list, ",")
}

// mkfsArgs is the mkfs command for spec; the force flag lets it format a
// disk that held an earlier file system.
func mkfsArgs(spec *pb.ProvisionServer) ([]string, error) {
	var force []string
	switch spec.GetFsType() {
	case "ext4", "ext3", "ext2":
		force = []string{"-F", "-q"}
	case "xfs", "btrfs":
		force = []string{"-f", "-q"}
	default:
		return nil, fmt.Errorf("file system %q: want ext4, xfs or btrfs", spec.GetFsType())
	}
	args := append([]string{"mkfs." + spec.GetFsType()}, force...)
	args = append(args, spec.GetMkfsOptions()...)
	return append(args, spec.GetDevice()), nil
}

func mkfs(ctx context.Context, spec *pb.ProvisionServer) error {
	args, err := mkfsArgs(spec)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// mountArgs is the mount command for spec at dir.
func mountArgs(spec *pb.ProvisionServer, dir string) []string {
	args := []string{"mount", "-t", spec.GetFsType()}
	if o := spec.GetMountOptions(); o != "" {
		args = append(args, "-o", o)
	}
	return append(args, spec.GetDevice(), dir)
}

// mount mounts the data disk. It calls mount(2) itself: after a reset,
// exec'ing mount(8) (and the libraries it loads, none of it translated yet
// under TCG) is a noticeable part of the path to the server answering.
// Options only mount(8) understands, and a refused syscall, go through
// mount(8), which also words the error.
func mount(ctx context.Context, spec *pb.ProvisionServer, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if flags, data, ok := kernelMountOptions(spec.GetMountOptions()); ok {
		err := unix.Mount(spec.GetDevice(), dir, spec.GetFsType(), flags, data)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EUCLEAN) {
			return fmt.Errorf("mount %s on %s: %w", spec.GetDevice(), dir, err)
		}
	}
	args := mountArgs(spec, dir)
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// mountAfterCrash mounts the data disk after a crash as a boot does: a
// boot's fsck pass (systemd-fsck, "fsck -a" for a data disk with fsck pass
// 2) checks an ext2/3/4 file system before mounting it, and replays or
// repairs what the kernel would refuse (e.g. a torn commit block of a last
// transaction that never completed: the kernel's jbd2 then fails the
// mount with EUCLEAN, "journal transaction N is corrupt", while e2fsck -p
// drops the transaction and marks nothing lost that was ever flushed).
// The mount is tried first; only when the kernel refuses it as corrupt is
// e2fsck -p run, and its output returned, then the mount retried. A file
// system with no such boot-time repair (xfs), or a check that cannot fix
// it (exit 4 and up), fails.
func mountAfterCrash(ctx context.Context, spec *pb.ProvisionServer, dir string) (check string, err error) {
	err = mount(ctx, spec, dir)
	if err == nil || !errors.Is(err, unix.EUCLEAN) {
		return "", err
	}
	check, cerr := bootTimeCheck(ctx, spec.GetFsType(), spec.GetDevice())
	if errors.Is(cerr, errNoBootTimeCheck) {
		return "", err
	}
	if cerr != nil {
		return check, fmt.Errorf("%w; %w", err, cerr)
	}
	if err := mount(ctx, spec, dir); err != nil {
		return check, fmt.Errorf("after the boot-time check (e2fsck -p: %s): %w", check, err)
	}
	return check, nil
}

// errNoBootTimeCheck: the file system has no boot-time repair (xfs's
// fsck does nothing; its repair is an administrator's xfs_repair).
var errNoBootTimeCheck = errors.New("no boot-time check for this file system")

// bootTimeCheck runs what a boot's fsck pass runs for fsType on device
// ("fsck -a": e2fsck -p for ext2/3/4) and returns its output; an error
// means it left errors or could not run.
func bootTimeCheck(ctx context.Context, fsType, device string) (string, error) {
	switch fsType {
	case "ext2", "ext3", "ext4":
	default:
		return "", errNoBootTimeCheck
	}
	out, err := exec.CommandContext(ctx, "e2fsck", "-p", device).CombinedOutput()
	check := strings.TrimSpace(string(out))
	var exit *exec.ExitError
	// e2fsck: 0 clean, 1 errors corrected, 2 corrected and reboot wanted
	// (for a mounted root); 4 and up left errors or failed.
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() < 4) {
		return check, fmt.Errorf("the boot-time check (e2fsck -p %s) did not repair it: %w: %s", device, err, check)
	}
	return check, nil
}

// mountFlags are the mount(8) options that are mount(2) flags: each sets
// or clears one.
var mountFlags = map[string]struct {
	set, clear uintptr
}{
	"ro": {unix.MS_RDONLY, 0}, "rw": {0, unix.MS_RDONLY},
	"nosuid": {unix.MS_NOSUID, 0}, "suid": {0, unix.MS_NOSUID},
	"nodev": {unix.MS_NODEV, 0}, "dev": {0, unix.MS_NODEV},
	"noexec": {unix.MS_NOEXEC, 0}, "exec": {0, unix.MS_NOEXEC},
	"sync": {unix.MS_SYNCHRONOUS, 0}, "async": {0, unix.MS_SYNCHRONOUS},
	"dirsync": {unix.MS_DIRSYNC, 0},
	"noatime": {unix.MS_NOATIME, 0}, "atime": {0, unix.MS_NOATIME},
	"nodiratime": {unix.MS_NODIRATIME, 0}, "diratime": {0, unix.MS_NODIRATIME},
	"relatime": {unix.MS_RELATIME, 0}, "norelatime": {0, unix.MS_RELATIME},
	"strictatime": {unix.MS_STRICTATIME, 0},
	"lazytime":    {unix.MS_LAZYTIME, 0}, "nolazytime": {0, unix.MS_LAZYTIME},
	"silent": {unix.MS_SILENT, 0}, "loud": {0, unix.MS_SILENT},
	"defaults": {0, 0},
}

// userspaceOnly are mount(8) options with no kernel meaning; a spec that
// has one is mounted by mount(8).
var userspaceOnly = []string{"auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev"}

// kernelMountOptions splits mount(8)-style options into mount(2) flags and
// the filesystem's data string; ok is false when mount(8) must handle them.
func kernelMountOptions(opts string) (flags uintptr, data string, ok bool) {
	var rest []string
	for _, o := range strings.Split(opts, ",") {
		o = strings.TrimSpace(o)
		switch f, known := mountFlags[o]; {
		case o == "":
		case known:
			flags = flags&^f.clear | f.set
		case slices.Contains(userspaceOnly, o), strings.HasPrefix(o, "x-"), strings.HasPrefix(o, "comment="):
			return 0, "", false
		default:
			rest = append(rest, o)
		}
	}
	return flags, strings.Join(rest, ","), true
}

func unmount(dir string) {
	syscall.Unmount(dir, 0)
}

// isMounted reports whether dir is a mount point.
func isMounted(dir string) bool {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 1 && fields[1] == dir {
			return true
		}
	}
	return false
}

// syncFilesystems flushes every file system (sync(2)).
func syncFilesystems() { syscall.Sync() }
