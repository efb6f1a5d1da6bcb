package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"

	crproto "github.com/crashrig/crashrig/proto"
	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// configEnv names a file holding the agent's config, for an agent started
// outside a crashrig VM (by hand, or a test running it as a host process).
// Inside a VM the config comes from QEMU's fw_cfg: never from a command
// line, where every local user could read the token.
const configEnv = "CRASHRIG_AGENT_CONFIG"

// fwCfgRoot is where the qemu_fw_cfg module shows QEMU's fw_cfg files.
const fwCfgRoot = "/sys/firmware/qemu_fw_cfg"

// config is where to connect and who we are.
type config struct {
	CP    string // host:port
	Token string // hex
	VMID  string
	// ResumeID is set in a machine restored from a standby template
	// (AgentConfig.resume_id); Entropy seeds its random state.
	ResumeID string
	Entropy  []byte
}

// parseConfig reads a protojson crashrigpb.AgentConfig and checks it.
func parseConfig(b []byte) (config, error) {
	var ac pb.AgentConfig
	if err := protojson.Unmarshal(b, &ac); err != nil {
		return config{}, fmt.Errorf("agent config: %w", err)
	}
	cfg := config{CP: ac.GetControlPlane(), Token: ac.GetToken(), VMID: ac.GetVmId(),
		ResumeID: ac.GetResumeId(), Entropy: ac.GetEntropy()}
	if cfg.CP == "" || cfg.Token == "" || cfg.VMID == "" {
		return cfg, errors.New("agent config: need control_plane, token and vm_id")
	}
	if _, _, err := net.SplitHostPort(cfg.CP); err != nil {
		return cfg, fmt.Errorf("agent config: control_plane %s: %w", cfg.CP, err)
	}
	if _, err := hex.DecodeString(cfg.Token); err != nil || len(cfg.Token) < 16 {
		return cfg, errors.New("agent config: token: want at least 16 hex digits")
	}
	if cfg.ResumeID != "" && len(cfg.Entropy) < minResumeEntropy {
		return cfg, fmt.Errorf("agent config: resume_id %s with %d bytes of entropy, want at least %d", cfg.ResumeID, len(cfg.Entropy), minResumeEntropy)
	}
	return cfg, nil
}

// minResumeEntropy is the least seed a resumed machine accepts: the
// kernel's CRNG key is 32 bytes.
const minResumeEntropy = 32

// loadConfig finds the agent's config: the file named by $CRASHRIG_AGENT_CONFIG,
// else QEMU's fw_cfg. path is where it was found ("" when there is none:
// the image booted outside a test); an error means one is present but
// unusable.
func loadConfig() (cfg config, path string, err error) {
	path = os.Getenv(configEnv)
	if path == "" {
		if path, err = fwCfgFile(crproto.AgentConfigName); err != nil || path == "" {
			return config{}, "", err
		}
	}
	cfg, err = readConfig(path)
	return cfg, path, err
}

// readConfig reads and checks the config at path. A machine restored from
// a snapshot reads its own QEMU's fw_cfg file here: the kernel reads the
// contents from the device on every read (only the size is from the
// probe, which is why the control plane pads every config to one size).
func readConfig(path string) (config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return config{}, fmt.Errorf("agent config: %w", err)
	}
	return parseConfig(b)
}

// fwCfgFile returns the sysfs path of a QEMU fw_cfg file, loading the
// qemu_fw_cfg module first if needed ("" when QEMU passed no such file).
func fwCfgFile(name string) (string, error) {
	if _, err := os.Stat(fwCfgRoot); errors.Is(err, fs.ErrNotExist) {
		if err := loadFwCfgModule(); err != nil {
			return "", err
		}
	}
	path := filepath.Join(fwCfgRoot, "by_name", name, "raw")
	// The by_name tree is filled in as the module probes the device.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		if time.Now().After(deadline) {
			if _, err := os.Stat(fwCfgRoot); err != nil {
				return "", fmt.Errorf("no fw_cfg in this machine: %w", err)
			}
			return "", nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadFwCfgModule loads qemu_fw_cfg (a module in Debian's cloud kernel,
// with no dependencies) straight from /lib/modules: an exec of modprobe
// costs a noticeable part of a reset under TCG. modprobe is the fallback.
func loadFwCfgModule() error {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	path := filepath.Join("/lib/modules", unix.ByteSliceToString(uts.Release[:]), "kernel/drivers/firmware/qemu_fw_cfg.ko")
	f, err := os.Open(path)
	if err == nil {
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err == nil || errors.Is(err, unix.EEXIST) {
			return nil
		}
	}
	modprobe := "modprobe"
	for _, p := range []string{"/sbin/modprobe", "/usr/sbin/modprobe"} { // init's PATH may lack them
		if _, err := os.Stat(p); err == nil {
			modprobe = p
			break
		}
	}
	if out, merr := exec.Command(modprobe, "qemu_fw_cfg").CombinedOutput(); merr != nil {
		return fmt.Errorf("load qemu_fw_cfg: %v; %s: %w: %s", err, modprobe, merr, out)
	}
	return nil
}
