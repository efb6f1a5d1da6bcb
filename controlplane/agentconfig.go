package controlplane

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// writeAgentConfig writes the agent's config (with its token) to a file
// only the owner can read, for QEMU's -fw_cfg: a token on the kernel
// command line would be in QEMU's argument list, which every local user
// can read in /proc/PID/cmdline.
// agentID is the VM id the agent presents: the VM's own for its first
// machine, a standby's own for each standby (see attach).
func writeAgentConfig(dir, cpAddr, agentID string, vm *VM) (string, error) {
	b, err := protojson.Marshal(&pb.AgentConfig{ControlPlane: cpAddr, VmId: agentID, Token: vm.token})
	if err != nil {
		return "", fmt.Errorf("agent config: %w", err)
	}
	path := filepath.Join(dir, agentConfigFile)
	// O_EXCL after a remove: a file left in a reused Dir keeps its mode.
	os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("agent config: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", fmt.Errorf("agent config: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("agent config: %w", err)
	}
	return path, nil
}

// agentConfigFile is the agent's config in the VM directory, from StartVM
// until QEMU has read it.
const agentConfigFile = "agent-config.json"
