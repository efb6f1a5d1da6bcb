package harness

import (
	"fmt"
	"strings"
)

// FSConfig is a named filesystem setup for the server's data directory:
// how a VM backend formats and mounts the disk.
type FSConfig struct {
	Name         string
	Mkfs         []string
	MountOptions string
	// Default: part of the default -crash.fs matrix.
	Default bool
}

// FSConfigs are the known filesystem configurations, in the order of the
// default matrix. ext4's data= mode decides what a crash can leave behind
// (writeback: stale or zero blocks in files whose metadata was committed).
// ext4-noautoda turns off auto_da_alloc, ext4's workaround for
// applications that replace a file by truncating and rewriting it without
// fsync: with it off such a file is empty after a crash until writeback
// (up to 30 s), the classic zero-length-file outcome that the default
// setting hides.
var FSConfigs = []FSConfig{
	{Name: "ext4-ordered", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=ordered", Default: true},
	{Name: "ext4-writeback", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=writeback", Default: true},
	{Name: "ext4-journal", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=journal", Default: true},
	{Name: "ext4-noautoda", Mkfs: []string{"mkfs.ext4", "-F", "-q"}, MountOptions: "data=ordered,noauto_da_alloc", Default: true},
	{Name: "xfs", Mkfs: []string{"mkfs.xfs", "-f", "-q"}},
	{Name: "btrfs", Mkfs: []string{"mkfs.btrfs", "-f", "-q"}},
}

// FSNames lists FSConfigs' names.
func FSNames() []string {
	names := make([]string, len(FSConfigs))
	for i, fc := range FSConfigs {
		names[i] = fc.Name
	}
	return names
}

// DefaultFSNames lists the default matrix.
func DefaultFSNames() []string {
	var names []string
	for _, fc := range FSConfigs {
		if fc.Default {
			names = append(names, fc.Name)
		}
	}
	return names
}

// LookupFS resolves names to configs.
func LookupFS(names []string) ([]FSConfig, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("-crash.fs: no filesystem configs given (known: %s)", strings.Join(FSNames(), ", "))
	}
	out := make([]FSConfig, 0, len(names))
	for _, n := range names {
		i := 0
		for i < len(FSConfigs) && FSConfigs[i].Name != n {
			i++
		}
		if i == len(FSConfigs) {
			return nil, fmt.Errorf("-crash.fs: unknown filesystem config %q (known: %s)", n, strings.Join(FSNames(), ", "))
		}
		out = append(out, FSConfigs[i])
	}
	return out, nil
}
