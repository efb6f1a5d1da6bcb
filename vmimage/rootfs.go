package vmimage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

//go:embed assets
var assets embed.FS

// Suite is the Debian release every image is built from.
const Suite = "bookworm"

// rootfsFormat changes whenever what EnsureRootFS does to a fresh
// debootstrap tree changes in a way the cache key would not otherwise see.
const rootfsFormat = "1"

// Packages is what debootstrap installs on top of minbase.
var Packages = []string{
	"linux-image-cloud-amd64", // ext4 built in; virtio as modules
	"busybox-static",          // init, initramfs tools
	"kmod",
	"openssh-server",
	"e2fsprogs", "xfsprogs", "btrfs-progs", // filesystem matrices
	"mariadb-server", // the first real SQL server under test; never started at boot
	"procps",
}

// installerRootHash is the crypt(3) hash of the console password the
// installer logs in with ("crashrig-installer"). install.sh locks the account,
// so a finished image has no password at all.
const (
	installerRootPassword = "crashrig-installer"
	installerRootHash     = "$6$crashriginstall$fHhUqdJFedPer1pa1uvS8KJvoWuOobMSZ7RWrnU3zrF3b4wtJiwmWl3rGcukBoSyabgZjUs6T32DKlQ.K5Z2I."
)

// RootFS is a prepared root filesystem tree in the cache.
type RootFS struct {
	Dir           string
	KernelVersion string
}

// Kernel is the path of the kernel image inside the tree.
func (r RootFS) Kernel() string {
	return filepath.Join(r.Dir, "boot", "vmlinuz-"+r.KernelVersion)
}

// rootfsKey names a cached root filesystem by everything that shapes it.
// Extra packages (a target's, beyond Packages) make a variant: without
// any the key is the default image's, unchanged.
func rootfsKey(mirror string, extra []string) (string, error) {
	h := sha256.New()
	pkgs := append([]string(nil), Packages...)
	pkgs = append(pkgs, extra...)
	sort.Strings(pkgs)
	pkgs = slices.Compact(pkgs)
	fmt.Fprintf(h, "format=%s\nsuite=%s\nmirror=%s\npackages=%s\n", rootfsFormat, Suite, mirror, strings.Join(pkgs, ","))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	if len(ExtraPackages(extra)) > 0 {
		// A variant's tree must survive the default build's pruning of
		// outdated trees, and the other way round.
		key = "variant-" + key
	}
	return key, nil
}

// ExtraPackages are the packages of want that the default image lacks,
// sorted: what makes an image variant.
func ExtraPackages(want []string) []string {
	var extra []string
	for _, p := range want {
		if !slices.Contains(Packages, p) && !slices.Contains(extra, p) {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	return extra
}

// EnsureRootFS returns the cached root filesystem for mirror, building it with
// debootstrap first if the cache does not have it, with crashrig's guest
// files (init, boot scripts) applied. log receives the tools' output.
func EnsureRootFS(ctx context.Context, cacheDir, mirror string, extra []string, log io.Writer, logf func(string, ...any)) (RootFS, error) {
	extra = ExtraPackages(extra)
	key, err := rootfsKey(mirror, extra)
	if err != nil {
		return RootFS{}, err
	}
	final := filepath.Join(cacheDir, "rootfs-"+key)
	if _, err := os.Stat(filepath.Join(final, ".crashrig-complete")); err == nil {
		logf("using cached root filesystem %s", final)
		if err := applyGuestFiles(final); err != nil {
			return RootFS{}, fmt.Errorf("guest files: %w", err)
		}
		return openRootFS(final)
	}
	if err := os.MkdirAll(filepath.Join(cacheDir, "debs"), 0o755); err != nil {
		return RootFS{}, fmt.Errorf("cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, "rootfs-"+key+".tmp-")
	if err != nil {
		return RootFS{}, fmt.Errorf("cache dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	logf("building Debian %s root filesystem with debootstrap from %s (cached afterwards)", Suite, mirror)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase",
		"--cache-dir="+filepath.Join(cacheDir, "debs"),
		"--include="+strings.Join(append(slices.Clone(Packages), extra...), ","),
		Suite, tmp, mirror)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return RootFS{}, fmt.Errorf("debootstrap %s from %s: %w", Suite, mirror, err)
	}
	if err := trimRootFS(tmp); err != nil {
		return RootFS{}, fmt.Errorf("trim root filesystem: %w", err)
	}
	if err := applyGuestFiles(tmp); err != nil {
		return RootFS{}, fmt.Errorf("guest files: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".crashrig-complete"), []byte(key+"\n"), 0o644); err != nil {
		return RootFS{}, err
	}
	os.RemoveAll(final) // a stale, incomplete copy
	if err := os.Rename(tmp, final); err != nil {
		return RootFS{}, fmt.Errorf("cache root filesystem: %w", err)
	}
	// Trees under other keys are from older package lists: ~1 GB each.
	if old, err := filepath.Glob(filepath.Join(cacheDir, "rootfs-*")); err == nil {
		for _, dir := range old {
			base := filepath.Base(dir)
			// Only trees of the same kind (default or variant) replace
			// each other; variants are few and each serves its target.
			if dir != final && !strings.Contains(base, ".tmp-") && strings.HasPrefix(base, "rootfs-variant-") == strings.HasPrefix(key, "variant-") && len(extra) == 0 {
				logf("removing outdated cached root filesystem %s", dir)
				os.RemoveAll(dir)
			}
		}
	}
	return openRootFS(final)
}

func openRootFS(dir string) (RootFS, error) {
	kernels, err := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if err != nil || len(kernels) != 1 {
		return RootFS{}, fmt.Errorf("root filesystem %s: want exactly one kernel in /boot, found %d", dir, len(kernels))
	}
	return RootFS{Dir: dir, KernelVersion: strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")}, nil
}

// applyGuestFiles makes a debootstrap tree a crashrig guest: busybox init
// with our boot scripts, a console login for the installer, nothing else
// started at boot. It runs on every install, so changing a boot script does
// not cost a new debootstrap; files are replaced atomically because another
// install may be reading the tree.
func applyGuestFiles(root string) error {
	files := []struct {
		asset, dst string
		mode       os.FileMode
	}{
		{"inittab", "etc/inittab", 0o644},
		{"rc.boot", "etc/crashrig/rc.boot", 0o755},
		{"rc.dcrts", "etc/crashrig/rc.dcrts", 0o755},
		{"rc.sshd", "etc/crashrig/rc.sshd", 0o755},
		{"rc.shutdown", "etc/crashrig/rc.shutdown", 0o755},
	}
	for _, f := range files {
		b, err := assets.ReadFile("assets/" + f.asset)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(root, f.dst), b, f.mode); err != nil {
			return err
		}
	}
	init := filepath.Join(root, "sbin", "init")
	if target, err := os.Readlink(init); err != nil || target != "/bin/busybox" {
		os.Remove(init)
		if err := os.Symlink("/bin/busybox", init); err != nil {
			return err
		}
	}
	return setRootHash(filepath.Join(root, "etc", "shadow"), installerRootHash)
}

// trimRootFS drops what the image does not need from a fresh tree: docs, the
// distro initramfs (ours is built per image), apt's caches.
func trimRootFS(root string) error {
	for _, glob := range []string{"boot/initrd.img-*", "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*",
		"var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages"} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyAsset(name, dst string, mode os.FileMode) error {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// writeFileAtomic replaces path with data: readers see the old or the new
// file, never a partial one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode {
			return nil
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	// Keep the owner (e.g. /etc/shadow's group shadow).
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
				tmp.Close()
				return err
			}
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// setRootHash replaces root's password hash in a shadow file.
func setRootHash(shadow, hash string) error {
	f, err := os.Open(shadow)
	if err != nil {
		return err
	}
	var lines []string
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Split(line, ":"); len(fields) > 2 && fields[0] == "root" {
			fields[1] = hash
			line = strings.Join(fields, ":")
			found = true
		}
		lines = append(lines, line)
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", shadow, err)
	}
	if !found {
		return fmt.Errorf("%s has no root entry", shadow)
	}
	return writeFileAtomic(shadow, []byte(strings.Join(lines, "\n")+"\n"), 0o640)
}

// DefaultMirror is the Debian mirror apt on this host uses, so the image is
// built from the same (reachable) source; it falls back to deb.debian.org.
func DefaultMirror() string {
	for _, path := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if m := mirrorFromSources(string(b)); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

// mirrorFromSources finds the main Debian archive in a deb822 .sources file
// or a one-line-style sources.list.
func mirrorFromSources(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		var uri string
		switch {
		case strings.HasPrefix(line, "URIs:"):
			if f := strings.Fields(strings.TrimPrefix(line, "URIs:")); len(f) > 0 {
				uri = f[0]
			}
		case strings.HasPrefix(line, "deb "):
			f := strings.Fields(line)
			for _, x := range f[1:] {
				if strings.Contains(x, "://") {
					uri = x
					break
				}
			}
		}
		if uri != "" && !strings.Contains(uri, "security") {
			return strings.TrimRight(uri, "/")
		}
	}
	return ""
}
