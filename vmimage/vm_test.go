package vmimage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/vmimage"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// TestImageBootsAndAcceptsSSH builds (or reuses) the test image, boots it on
// an overlay, runs a command over SSH with the image's key and checks that no
// QEMU process outlives the test.
func TestImageBootsAndAcceptsSSH(t *testing.T) {
	vmtest.SkipIfShort(t)
	im := vmtest.Image(t)
	for _, f := range []string{vmimage.FileRunScript, vmimage.FileSSHScript, vmimage.FileSCPScript,
		vmimage.FileSSHConfig, vmimage.FileMySQLPort, vmimage.FileInstallLog, vmimage.FileSSHKey} {
		assert.FileExists(t, im.Path(f))
	}
	log, err := os.ReadFile(im.Path(vmimage.FileInstallLog))
	require.NoError(t, err)
	for _, step := range []string{"got connection, running installer", "saw login prompt. Logging in.",
		"Logged in. Mounting floppy", "Mounted storage. Running install.sh.", "installer run successfully"} {
		assert.Contains(t, string(log), step, "install.log records each installer step")
	}
	diskBefore, err := os.Stat(im.Path(vmimage.FileDisk))
	require.NoError(t, err)

	var pid int
	var overlayDir string
	t.Run("boot", func(t *testing.T) {
		vm := vmtest.Boot(t, im)
		pid = vm.Process.Pid()
		overlayDir = filepath.Dir(vm.Console)
		start := time.Now()
		client := vm.SSH(t, 2*time.Minute)
		t.Logf("sshd answered %s after QEMU started", time.Since(start).Round(time.Millisecond))
		out, err := vmimage.RunSSH(client, "uname -a; cat /etc/hostname; id -u")
		require.NoError(t, err)
		assert.Contains(t, out, "Linux crashrig")
		assert.Contains(t, out, "x86_64")
		assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "\n0"), "logged in as root: %q", out)
		out, err = vmimage.RunSSH(client, "grep -c '^root:\\*:' /etc/shadow; test -x /usr/sbin/mariadbd && echo mariadb-present; pgrep -x mariadbd || echo mariadb-not-running")
		require.NoError(t, err)
		assert.Equal(t, "1\nmariadb-present\nmariadb-not-running\n", out, "root has no password; MariaDB is installed but not started at boot")
	})
	require.NotZero(t, pid)
	_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
	assert.True(t, os.IsNotExist(err), "QEMU (pid %d) must be gone after the test", pid)
	assert.Empty(t, qemuProcessesMentioning(t, overlayDir), "no QEMU process may use the test's overlay")
	diskAfter, err := os.Stat(im.Path(vmimage.FileDisk))
	require.NoError(t, err)
	assert.Equal(t, diskBefore.ModTime(), diskAfter.ModTime(), "the image's disk is never modified by a test")
}

// qemuProcessesMentioning lists QEMU processes whose command line contains s.
func qemuProcessesMentioning(t *testing.T, s string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var found []string
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "qemu-system") && strings.Contains(cmd, s) {
			found = append(found, cmd)
		}
	}
	return found
}

// BenchmarkBootToSSH measures a boot of the image, from QEMU start to sshd
// completing a key login, under the accelerator the image chose.
func BenchmarkBootToSSH(b *testing.B) {
	vmtest.SkipIfShort(b)
	im := vmtest.Image(b)
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		func() {
			vm := vmtest.Boot(b, im)
			client := vm.SSH(b, 2*time.Minute)
			times = append(times, time.Since(start))
			client.Close()
			vm.Process.Kill()
		}()
	}
	reportMedian(b, times, "s/boot-to-ssh")
}

// BenchmarkInstallWarm measures a full install with warm caches (root
// filesystem and packages already cached).
func BenchmarkInstallWarm(b *testing.B) {
	vmtest.SkipIfShort(b)
	vmtest.Image(b) // warms the cache
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		_, err := vmimage.Install(b.Context(), vmimage.Config{
			OutDir: filepath.Join(b.TempDir(), "vm"), QEMUShare: "/usr/share/qemu",
		})
		require.NoError(b, err)
		times = append(times, time.Since(start))
	}
	reportMedian(b, times, "s/install")
}

func reportMedian(b *testing.B, times []time.Duration, unit string) {
	if len(times) == 0 {
		return
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), "median-"+unit)
	b.ReportMetric(times[len(times)-1].Seconds(), "max-"+unit)
	b.Logf("%s: %v", unit, times)
}
