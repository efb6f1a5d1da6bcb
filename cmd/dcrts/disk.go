package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

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

func mount(ctx context.Context, spec *pb.ProvisionServer, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := mountArgs(spec, dir)
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
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
