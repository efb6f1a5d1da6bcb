// Package vmtest gives tests a VM image, built once and shared by every test
// and package, and boots throwaway VMs from it.
package vmtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crashrig/crashrig/vmimage"
)

// EnvImage names a prebuilt VM directory to use instead of the cached one.
const EnvImage = "CRASHRIG_IMAGE"

// SkipIfShort skips a VM test only when the user asked for short mode.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping VM test in -short mode: it boots QEMU VMs (minutes under TCG); run without -short to include it")
	}
}

// images holds the test images built by this process, by extra packages.
var (
	imagesMu sync.Mutex
	images   = map[string]*imageEntry{}
)

type imageEntry struct {
	once  sync.Once
	image *vmimage.Image
	err   error
}

// Image returns the shared test image: $CRASHRIG_IMAGE if set, else one
// built by the installer under the cache directory, keyed by everything that
// goes into it (the installer's sources and the dcrts agent), and rebuilt only
// when that changes. Packages testing in parallel share it through a lock.
func Image(t testing.TB) *vmimage.Image {
	t.Helper()
	return ImageWith(t)
}

// ImageWith is Image with Debian packages a target needs (its spec's
// install.packages). Packages the default image has change nothing; any
// others make an image variant, cached under its own key, so the default
// image stays as it is. $CRASHRIG_IMAGE is used only for the default.
func ImageWith(t testing.TB, packages ...string) *vmimage.Image {
	t.Helper()
	extra := vmimage.ExtraPackages(packages)
	name := strings.Join(extra, ",")
	imagesMu.Lock()
	e, ok := images[name]
	if !ok {
		e = &imageEntry{}
		images[name] = e
	}
	imagesMu.Unlock()
	e.once.Do(func() { e.image, e.err = loadOrBuild(t, extra) })
	if e.err != nil {
		t.Fatalf("test VM image (extra packages %v): %v", extra, e.err)
	}
	return e.image
}

func loadOrBuild(t testing.TB, extra []string) (*vmimage.Image, error) {
	if dir := os.Getenv(EnvImage); dir != "" && len(extra) == 0 {
		return vmimage.OpenImage(dir)
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	cache := vmimage.DefaultCacheDir()
	if err := os.MkdirAll(filepath.Join(cache, "images"), 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "images", ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock image cache: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	tmp, err := os.MkdirTemp("", "crashrig-vmtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dcrts := ""
	if _, err := os.Stat(filepath.Join(root, "cmd", "dcrts")); err == nil {
		dcrts = filepath.Join(tmp, "dcrts")
		if err := vmimage.GoBuildStatic(context.Background(), root, "./cmd/dcrts", dcrts); err != nil {
			return nil, err
		}
	}
	key, err := imageKey(root, dcrts)
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		h := sha256.Sum256([]byte(strings.Join(extra, ",")))
		key += "-variant-" + hex.EncodeToString(h[:])[:8]
	}
	dir := filepath.Join(cache, "images", key)
	if im, err := vmimage.OpenImage(dir); err == nil {
		return im, nil
	}
	t.Logf("building test VM image %s (cached for later runs)", dir)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	im, err := vmimage.Install(ctx, vmimage.Config{
		OutDir: dir, QEMUShare: "/usr/share/qemu", Accel: "auto", Force: true, DCRTS: dcrts,
		ExtraPackages: extra,
	}, vmimage.WithLogf(func(f string, a ...any) { t.Logf("install: "+f, a...) }),
		// Other test processes wait for this image while holding VM
		// slots: taking one here could deadlock.
		vmimage.WithoutVMSlot())
	if err != nil {
		return nil, err
	}
	t.Logf("test VM image built in %s", time.Since(start).Round(time.Second))
	pruneImages(filepath.Join(cache, "images"), keepImages)
	return im, nil
}

// keepImages is how many test images the cache holds; each is ~600 MB and
// every change to the installer or the agent makes a new one.
const keepImages = 3

// pruneImages removes all but the newest keep images in dir.
func pruneImages(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type aged struct {
		path string
		mod  time.Time
	}
	var images []aged
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			images = append(images, aged{filepath.Join(dir, e.Name()), fi.ModTime()})
		}
	}
	sort.Slice(images, func(i, j int) bool { return images[i].mod.After(images[j].mod) })
	for i := keep; i < len(images); i++ {
		os.RemoveAll(images[i].path)
	}
}

// imageKey hashes what shapes an image: the vmimage sources (installer,
// assets) and the agent binary. BUILD files do not shape it, so a Gazelle
// run does not cost an image rebuild.
func imageKey(root, dcrts string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(filepath.Join(root, "vmimage"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "BUILD.bazel" || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "vmtest") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\n", strings.TrimPrefix(path, root))
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	if dcrts != "" {
		f, err := os.Open(dcrts)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("hash %s: %w", dcrts, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// BuildStatic builds pkg (e.g. "./cmd/crashrig-sqlserver") of this module
// as a static linux/amd64 binary in a test temp dir, for uploading to a VM.
func BuildStatic(t testing.TB, pkg string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	start := time.Now()
	if err := vmimage.GoBuildStatic(context.Background(), root, pkg, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return out
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("vmtest: cannot locate source tree")
	}
	if !filepath.IsAbs(file) {
		// Built with -trimpath, as Bazel builds: the sources a test needs
		// are in its runfiles tree (data dependencies).
		srcdir := os.Getenv("TEST_SRCDIR")
		if srcdir == "" {
			return "", fmt.Errorf("vmtest: cannot locate source tree (%s is relative and TEST_SRCDIR is not set)", file)
		}
		return filepath.Join(srcdir, os.Getenv("TEST_WORKSPACE")), nil
	}
	// this file is <root>/vmimage/vmtest/vmtest.go
	return filepath.Dir(filepath.Dir(filepath.Dir(file))), nil
}
