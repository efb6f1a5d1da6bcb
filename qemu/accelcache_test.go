package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccelVerdictKeptForThisHostBootAndQEMU(t *testing.T) {
	if _, _, ok := accelKey(); !ok {
		t.Skip("no boot id or no " + Binary + ": nothing is cached on this host")
	}
	path := filepath.Join(t.TempDir(), "accel.json")
	t.Setenv(EnvAccelCache, path)

	_, ok := cachedAccel()
	require.False(t, ok, "no verdict before a probe")

	saveAccel(AccelTCG, "KVM probe failed: guest did not reach its initramfs")
	v, ok := cachedAccel()
	require.True(t, ok)
	require.Equal(t, AccelTCG, v.Accel)
	require.Contains(t, v.Why, "KVM probe failed")

	// A verdict of another host boot or QEMU binary is ignored.
	for _, stale := range []string{
		`{"host_boot":"another-boot","qemu":"` + v.QEMU + `","accel":"kvm","why":"x"}`,
		`{"host_boot":"` + v.HostBoot + `","qemu":"/old/qemu:1:1","accel":"kvm","why":"x"}`,
		`{"host_boot":"` + v.HostBoot + `","qemu":"` + v.QEMU + `","accel":"hvf","why":"x"}`,
		`not json`,
	} {
		require.NoError(t, os.WriteFile(path, []byte(stale), 0o644))
		_, ok := cachedAccel()
		require.False(t, ok, "stale verdict %s used", stale)
	}

	t.Setenv(EnvAccelCache, "off")
	saveAccel(AccelKVM, "probe ok")
	_, ok = cachedAccel()
	require.False(t, ok, "cache off")
}
