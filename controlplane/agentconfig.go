package controlplane

import (
	"bytes"
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
// Its vm_id is the id the agent presents: the VM's own for its first
// machine, a standby's own for each standby (see attach). Every config is
// padded with spaces to agentConfigSize: a machine restored from a
// standby template reads its own QEMU's file through a kernel that
// learnt the file's size from the template's QEMU.
func writeAgentConfig(dir string, ac *pb.AgentConfig) (string, error) {
	b, err := protojson.Marshal(ac)
	if err != nil {
		return "", fmt.Errorf("agent config: %w", err)
	}
	if len(b) > agentConfigSize {
		return "", fmt.Errorf("agent config: %d bytes, more than %d", len(b), agentConfigSize)
	}
	b = append(b, bytes.Repeat([]byte{' '}, agentConfigSize-len(b))...)
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

// agentConfigSize is every agent config's size in bytes (JSON allows the
// trailing spaces).
const agentConfigSize = 1024
