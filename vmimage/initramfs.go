package vmimage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// bootModules are the kernel modules the initramfs loads: the cloud kernel
// has ext4 built in but virtio as modules. Their dependencies come from
// modules.dep.
var bootModules = []string{"virtio_pci", "virtio_blk", "virtio_net", "virtio-rng"}

// WriteInitramfs writes a small uncompressed initramfs for root's kernel to
// w: static busybox, the virtio modules and an /init that mounts /dev/vda.
func WriteInitramfs(w io.Writer, root RootFS) error {
	modDir := filepath.Join(root.Dir, "lib", "modules", root.KernelVersion)
	mods, err := moduleLoadOrder(filepath.Join(modDir, "modules.dep"), bootModules)
	if err != nil {
		return err
	}
	init, err := assets.ReadFile("assets/initramfs-init")
	if err != nil {
		return err
	}
	busybox, err := os.ReadFile(filepath.Join(root.Dir, "bin", "busybox"))
	if err != nil {
		return fmt.Errorf("initramfs: busybox-static missing from the root filesystem: %w", err)
	}

	cw := cpio.NewWriter(w)
	dirs := []string{"bin", "dev", "proc", "sys", "newroot", "modules"}
	for _, d := range dirs {
		if err := cw.WriteHeader(&cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755}); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		mode cpio.FileMode
		data []byte
	}{
		{"init", 0o755, init},
		{"bin/busybox", 0o755, busybox},
		{"modules.list", 0o644, []byte(strings.Join(baseNames(mods), "\n") + "\n")},
	}
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(modDir, m))
		if err != nil {
			return fmt.Errorf("initramfs: module: %w", err)
		}
		files = append(files, struct {
			name string
			mode cpio.FileMode
			data []byte
		}{"modules/" + path.Base(m), 0o644, b})
	}
	for _, f := range files {
		if err := cw.WriteHeader(&cpio.Header{Name: f.name, Mode: cpio.TypeReg | f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := cw.Write(f.data); err != nil {
			return err
		}
	}
	return cw.Close()
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = path.Base(p)
	}
	return out
}

// moduleLoadOrder reads a modules.dep and returns the module files (relative
// to the module directory) needed for wanted, dependencies first.
func moduleLoadOrder(depFile string, wanted []string) ([]string, error) {
	f, err := os.Open(depFile)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{} // module file -> its dependencies
	byName := map[string]string{} // module name -> module file
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[file] = strings.Fields(rest)
		byName[moduleName(file)] = file
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("initramfs: read %s: %w", depFile, err)
	}
	var order []string
	seen := map[string]bool{}
	var visit func(file string)
	visit = func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		// modules.dep lists a module's full dependency closure, most
		// fundamental last.
		d := deps[file]
		for i := len(d) - 1; i >= 0; i-- {
			visit(d[i])
		}
		order = append(order, file)
	}
	for _, name := range wanted {
		file, ok := byName[strings.ReplaceAll(name, "-", "_")]
		if !ok {
			return nil, fmt.Errorf("initramfs: kernel module %s not in %s", name, depFile)
		}
		visit(file)
	}
	return order, nil
}

// moduleName is the name modprobe knows a module file by.
func moduleName(file string) string {
	base := path.Base(file)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}
