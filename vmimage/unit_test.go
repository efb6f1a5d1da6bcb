package vmimage

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/qemu"
)

func testImage(dir string) *Image {
	return &Image{
		Dir: dir, Arch: "x86_64", Accel: qemu.AccelTCG, MemMiB: 1024, CPUs: 2,
		QEMUShare: "/usr/share/qemu", SSHPort: 40022, MySQLPort: 43306,
		HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZ4 root@crashrig",
	}
}

func TestRenderScripts(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, RenderScripts(dir, "/srv/vms/vm1", testImage(dir)))

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}
	run := read(FileRunScript)
	for _, want := range []string{
		`DIR=$(cd "$(dirname "$0")" && pwd)`,
		`-kernel "${DIR}/vmlinuz"`,
		`-initrd "${DIR}/initrd.img"`,
		`-drive "file=${DIR}/disk.qcow2,if=none,id=disk0,format=qcow2"`,
		`-device virtio-blk-pci,drive=disk0,addr=0x5`,
		`-accel tcg,tb-size=256`,
		`-device virtio-rng-pci,addr=0x4`,
		`hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:43306-:3306`,
		`-L /usr/share/qemu`,
		`-serial mon:stdio "$@"`,
	} {
		assert.Contains(t, run, want)
	}
	assert.NotContains(t, run, dir, "run.sh must not hard-code the staging directory")

	ssh := read(FileSSHScript)
	assert.Contains(t, ssh, `-i "$DIR/id_ed25519"`)
	assert.Contains(t, ssh, `crashrig "$@"`)
	assert.Contains(t, read(FileSCPScript), `exec scp -F "$DIR/ssh_config"`)

	cfg := read(FileSSHConfig)
	assert.Contains(t, cfg, "Port 40022")
	assert.Contains(t, cfg, "IdentityFile /srv/vms/vm1/id_ed25519", "ssh_config names the final directory")
	assert.Contains(t, cfg, "StrictHostKeyChecking yes")

	assert.Equal(t, "43306\n", read(FileMySQLPort))
	assert.Equal(t, "40022\n", read(FileSSHPort))
	assert.Equal(t, "crashrig ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZ4 root@crashrig\n", read(FileKnownHosts))

	for _, s := range []string{FileRunScript, FileSSHScript, FileSCPScript} {
		fi, err := os.Stat(filepath.Join(dir, s))
		require.NoError(t, err)
		assert.NotZero(t, fi.Mode()&0o100, "%s is executable", s)
		out, err := exec.Command("sh", "-n", filepath.Join(dir, s)).CombinedOutput()
		assert.NoError(t, err, "%s: sh -n: %s", s, out)
	}
}

func TestRunScriptArgumentsSurviveTheShell(t *testing.T) {
	// Render, then let sh expand the script's QEMU command with echo in
	// place of QEMU: every argument must arrive intact, ${DIR} expanded.
	dir := t.TempDir()
	im := testImage(dir)
	require.NoError(t, RenderScripts(dir, dir, im))
	b, err := os.ReadFile(filepath.Join(dir, FileRunScript))
	require.NoError(t, err)
	script := strings.Replace(string(b), "exec "+qemu.Binary, `for a in`, 1)
	script = strings.Replace(script, `-serial mon:stdio "$@"`, `-serial mon:stdio "$@"; do printf '%s\n' "$a"; done`, 1)
	fake := filepath.Join(dir, "args.sh")
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	out, err := exec.Command("sh", fake).Output()
	require.NoError(t, err)

	m := im.Machine()
	want, err := m.Args()
	require.NoError(t, err)
	want = append(want, "-serial", "mon:stdio")
	assert.Equal(t, want, strings.Split(strings.TrimRight(string(out), "\n"), "\n"))
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "plain-arg,x=1", shellQuote("plain-arg,x=1"))
	assert.Equal(t, `"a b"`, shellQuote("a b"))
	assert.Equal(t, `"\$HOME \"q\" \\ \`+"`"+`"`, shellQuote("$HOME \"q\" \\ `"))
	assert.Equal(t, `"${DIR}/x y"`, shellQuote("${DIR}/x y"))
	assert.Equal(t, `""`, shellQuote(""))
}

func TestMirrorFromSources(t *testing.T) {
	deb822 := "Types: deb\n# comment\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
	assert.Equal(t, "http://mirror.example/debian", mirrorFromSources(deb822))
	oneLine := "deb [arch=amd64] http://ftp.example/debian bookworm main\n"
	assert.Equal(t, "http://ftp.example/debian", mirrorFromSources(oneLine))
	assert.Equal(t, "", mirrorFromSources("URIs:\n"))
}

func TestSetRootHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shadow")
	require.NoError(t, os.WriteFile(p, []byte("root:*:19000:0:99999:7:::\nmysql:!:19000::::::\n"), 0o640))
	require.NoError(t, setRootHash(p, "$6$salt$hash"))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "root:$6$salt$hash:19000:0:99999:7:::\nmysql:!:19000::::::\n", string(b))

	require.NoError(t, os.WriteFile(p, []byte("daemon:*:1::::::\n"), 0o640))
	assert.Error(t, setRootHash(p, "x"), "a shadow file without root is an error")
}

func TestModuleLoadOrder(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "modules.dep")
	require.NoError(t, os.WriteFile(dep, []byte(
		"kernel/drivers/virtio/virtio.ko:\n"+
			"kernel/drivers/virtio/virtio_ring.ko:\n"+
			"kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"+
			"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"+
			"kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"), 0o644))
	order, err := moduleLoadOrder(dep, []string{"virtio_pci", "virtio_blk", "virtio-rng"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/virtio/virtio_pci.ko",
		"kernel/drivers/block/virtio_blk.ko",
		"kernel/drivers/char/hw_random/virtio-rng.ko",
	}, order, "dependencies first, each module once")

	_, err = moduleLoadOrder(dep, []string{"virtio_net"})
	assert.ErrorContains(t, err, "virtio_net")
}

func TestInstallRefusesBadInput(t *testing.T) {
	_, err := Install(t.Context(), Config{})
	assert.ErrorContains(t, err, "-out")
	_, err = Install(t.Context(), Config{OutDir: t.TempDir(), Accel: "fast"})
	assert.ErrorContains(t, err, `-accel "fast"`)
	_, err = Install(t.Context(), Config{OutDir: t.TempDir(), Arch: "riscv64"})
	assert.ErrorContains(t, err, "-arch")

	out := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(out, "keep.txt"), []byte("x"), 0o644))
	_, err = Install(t.Context(), Config{OutDir: out, QEMUShare: "/usr/share/qemu"})
	assert.ErrorContains(t, err, "pass -force")
	_, statErr := os.Stat(filepath.Join(out, "keep.txt"))
	assert.NoError(t, statErr, "a refused install leaves -out alone")
}

func TestCheckHostNamesMissingPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := checkHost(Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apt-get install -y qemu-system-x86 qemu-utils debootstrap e2fsprogs")
}

// A target's extra packages make a variant; packages the default image
// has already change nothing (the default image's cache key included).
func TestRootFSKeyVariants(t *testing.T) {
	def, err := rootfsKey("http://m", nil)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := rootfsKey("http://m", ExtraPackages([]string{"mariadb-server"}))
	if same != def {
		t.Errorf("a package of the default image changed the key: %s vs %s", same, def)
	}
	v, _ := rootfsKey("http://m", ExtraPackages([]string{"libicu72"}))
	if v == def || !strings.HasPrefix(v, "variant-") {
		t.Errorf("libicu72 gave key %s (default %s); want a variant- key of its own", v, def)
	}
	if got := ExtraPackages([]string{"libicu72", "kmod", "libicu72", "a"}); !slices.Equal(got, []string{"a", "libicu72"}) {
		t.Errorf("ExtraPackages = %v", got)
	}
}
