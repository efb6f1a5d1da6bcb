// Command install builds a crashrig VM directory: a Debian root filesystem on
// a qcow2 disk, a kernel with a tiny initramfs, the DCRTS agent, an SSH key
// and the scripts to run and reach the VM.
//
//	go run ./cmd/install -out /tmp/vm1 -qemushare /usr/share/qemu
//	/tmp/vm1/run.sh &   /tmp/vm1/ssh.sh uname -a
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/crashrig/crashrig/vmimage"
)

func main() {
	var cfg vmimage.Config
	flag.StringVar(&cfg.OutDir, "out", "", "VM directory to create (required)")
	flag.StringVar(&cfg.QEMUShare, "qemushare", "/usr/share/qemu", "QEMU firmware directory (passed to QEMU as -L)")
	flag.StringVar(&cfg.Arch, "arch", "x86_64", "guest architecture (x86_64)")
	flag.IntVar(&cfg.MemMiB, "mem", vmimage.DefaultMemMiB, "guest memory in MiB")
	flag.IntVar(&cfg.CPUs, "cpus", vmimage.DefaultCPUs, "guest CPUs")
	flag.StringVar(&cfg.Accel, "accel", "auto", "accelerator: auto (probe KVM, fall back to TCG), tcg or kvm")
	flag.StringVar(&cfg.CacheDir, "cache", vmimage.DefaultCacheDir(), "cache for Debian packages and root filesystems")
	flag.StringVar(&cfg.Mirror, "mirror", "", "Debian mirror for debootstrap (default: the one apt uses)")
	flag.BoolVar(&cfg.Force, "force", false, "replace -out if it exists and is not empty")
	flag.StringVar(&cfg.DCRTS, "dcrts", "", "linux/amd64 dcrts agent binary to install (default: build ./cmd/dcrts when run from the crashrig source tree)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: install -out DIR [flags]\n\nBuilds a crashrig QEMU VM directory.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("install: unexpected arguments %q (flags come before, e.g. -out DIR)", flag.Args())
	}
	if wd := os.Getenv("BUILD_WORKING_DIRECTORY"); wd != "" && cfg.OutDir != "" && !filepath.IsAbs(cfg.OutDir) {
		// Under `bazel run` the working directory is the runfiles tree:
		// -out is relative to where bazel was run.
		cfg.OutDir = filepath.Join(wd, cfg.OutDir)
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("install: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.DCRTS == "" {
		bin, cleanup, err := buildDCRTS(ctx)
		if err != nil {
			log.Fatal(err)
		}
		defer cleanup()
		cfg.DCRTS = bin
	}
	im, err := vmimage.Install(ctx, cfg, vmimage.WithLogf(log.Printf))
	if err != nil {
		stop()
		log.Fatal(err)
	}
	fmt.Printf("VM directory: %s\n  start: %s\n  shell: %s\n  MySQL: 127.0.0.1:%d\n",
		im.Dir, filepath.Join(im.Dir, vmimage.FileRunScript), filepath.Join(im.Dir, vmimage.FileSSHScript), im.MySQLPort)
}

// buildDCRTS builds the agent from this source tree, if that is where we
// run; otherwise the image gets no agent and says so.
func buildDCRTS(ctx context.Context) (string, func(), error) {
	noop := func() {}
	root, err := moduleRoot()
	if err != nil {
		return "", noop, nil
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "dcrts")); err != nil {
		return "", noop, nil
	}
	dir, err := os.MkdirTemp("", "crashrig-dcrts-")
	if err != nil {
		return "", noop, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	bin := filepath.Join(dir, "dcrts")
	if err := vmimage.GoBuildStatic(ctx, root, "./cmd/dcrts", bin); err != nil {
		cleanup()
		return "", noop, fmt.Errorf("build dcrts (or pass -dcrts PATH): %w", err)
	}
	log.Printf("built dcrts agent from %s", root)
	return bin, cleanup, nil
}

// moduleRoot finds the crashrig module above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/crashrig/crashrig\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
