package qemu

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvAccelCache names the file that keeps the KVM probe's verdict; "off"
// disables the cache.
const EnvAccelCache = "CRASHRIG_ACCEL_CACHE"

// accelVerdict is a finished KVM probe. It holds for one host boot and one
// QEMU binary: on hosts where KVM hangs the probe costs its whole 8 s
// timeout, and every test process used to pay it again.
type accelVerdict struct {
	HostBoot string `json:"host_boot"`
	QEMU     string `json:"qemu"`
	Accel    Accel  `json:"accel"`
	Why      string `json:"why"`
}

// accelCachePath is $CRASHRIG_ACCEL_CACHE, else accel.json in crashrig's
// cache directory; "" when caching is off or no directory is known.
func accelCachePath() string {
	if p := os.Getenv(EnvAccelCache); p != "" {
		if p == "off" {
			return ""
		}
		return p
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "crashrig", "accel.json")
}

// accelKey identifies what a verdict depends on: the host's boot and the
// QEMU binary (path, size, modification time). ok is false when either is
// unknown, and then nothing is cached.
func accelKey() (hostBoot, qemuID string, ok bool) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", "", false
	}
	path, err := exec.LookPath(Binary)
	if err != nil {
		return "", "", false
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", "", false
	}
	return strings.TrimSpace(string(b)), fmt.Sprintf("%s:%d:%d", path, st.Size(), st.ModTime().UnixNano()), true
}

// cachedAccel returns the verdict of an earlier probe on this host boot
// with this QEMU binary.
func cachedAccel() (accelVerdict, bool) {
	path := accelCachePath()
	boot, qemuID, ok := accelKey()
	if path == "" || !ok {
		return accelVerdict{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return accelVerdict{}, false
	}
	var v accelVerdict
	if json.Unmarshal(b, &v) != nil || v.HostBoot != boot || v.QEMU != qemuID ||
		(v.Accel != AccelKVM && v.Accel != AccelTCG) {
		return accelVerdict{}, false
	}
	return v, true
}

// saveAccel keeps a probe's verdict; a cache that cannot be written only
// costs the next process a probe.
func saveAccel(a Accel, why string) {
	path := accelCachePath()
	boot, qemuID, ok := accelKey()
	if path == "" || !ok {
		return
	}
	b, err := json.Marshal(accelVerdict{HostBoot: boot, QEMU: qemuID, Accel: a, Why: why})
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".accel-*.json")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), path) != nil {
		os.Remove(tmp.Name())
	}
}
