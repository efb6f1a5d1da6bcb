package controlplane

import (
	"context"
	"fmt"
	"strings"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// IOFaultKinds names the I/O faults the agent injects (issue 13), in one
// place: the harness's -crash.iofaults flag, the history and the docs
// follow it. A server provisioned with ServerSpec.IOFaults takes all of
// them.
var IOFaultKinds = []struct {
	Name string
	Kind pb.IOFaultKind
	// Errno is what a program in the guest sees.
	Errno string
}{
	{"write-error", pb.IOFaultKind_WRITE_ERROR, "EIO from fsync (buffered) or write (O_DIRECT)"},
	{"read-error", pb.IOFaultKind_READ_ERROR, "EIO from read (and write) of the target's blocks"},
	{"disk-full", pb.IOFaultKind_DISK_FULL, "ENOSPC from write"},
	{"read-only", pb.IOFaultKind_READ_ONLY, "EROFS from open for writing and file creation"},
	{"slow", pb.IOFaultKind_SLOW, "none: every I/O is delayed"},
}

// IOFaultName is kind's name in IOFaultKinds.
func IOFaultName(kind pb.IOFaultKind) string {
	for _, k := range IOFaultKinds {
		if k.Kind == kind {
			return k.Name
		}
	}
	return kind.String()
}

// ParseIOFaultKind looks a fault kind up by name.
func ParseIOFaultKind(name string) (pb.IOFaultKind, error) {
	var names []string
	for _, k := range IOFaultKinds {
		if k.Name == name {
			return k.Kind, nil
		}
		names = append(names, k.Name)
	}
	return 0, fmt.Errorf("unknown I/O fault %q (known: %s)", name, strings.Join(names, ", "))
}

// IOFault is a fault to inject (see proto InjectFault).
type IOFault struct {
	Kind pb.IOFaultKind
	// Target narrows write-error and read-error: "" the whole disk, "free"
	// the file system's free blocks, else a path under the data directory.
	Target string
	// DelayMillis for slow (default 100).
	DelayMillis uint32
}

func (f IOFault) String() string {
	s := IOFaultName(f.Kind)
	if f.Target != "" {
		s += " on " + f.Target
	}
	if f.Kind == pb.IOFaultKind_SLOW && f.DelayMillis > 0 {
		s += fmt.Sprintf(" (%d ms)", f.DelayMillis)
	}
	return s
}

// InjectFault starts an I/O fault under the provisioned server's data
// directory, replacing any fault still active; it returns what the agent
// did. The fault ends with ClearFault or the next boot.
func (vm *VM) InjectFault(ctx context.Context, f IOFault) (*pb.FaultResult, error) {
	res, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_InjectFault{InjectFault: &pb.InjectFault{
		Kind: f.Kind, Target: f.Target, DelayMillis: f.DelayMillis}}})
	if err != nil {
		return nil, fmt.Errorf("VM %s: inject %s: %w", vm.ID, f, err)
	}
	vm.logf("VM %s: injected %s: %s", vm.ID, f, res.GetFault().GetDetail())
	return res.GetFault(), nil
}

// ClearFault ends the active I/O fault (none: no-op).
func (vm *VM) ClearFault(ctx context.Context) error {
	if _, err := vm.call(ctx, &pb.Command{Cmd: &pb.Command_ClearFault{ClearFault: &pb.ClearFault{}}}); err != nil {
		return fmt.Errorf("VM %s: clear fault: %w", vm.ID, err)
	}
	return nil
}
