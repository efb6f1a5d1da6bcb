package vmimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
)

// Variables naming prebuilt binaries. A build system that builds the
// programs itself (Bazel: see the BUILD files) sets them, and GoBuildStatic
// copies the named file instead of running go build.
const (
	EnvDCRTSBin     = "CRASHRIG_DCRTS_BIN"
	EnvSQLServerBin = "CRASHRIG_SQLSERVER_BIN"
)

// prebuiltEnv maps a command's name (its package's last path element) to the
// variable that may name a prebuilt binary of it.
var prebuiltEnv = map[string]string{
	"dcrts":              EnvDCRTSBin,
	"crashrig-sqlserver": EnvSQLServerBin,
}

// Prebuilt returns the absolute path of the prebuilt binary that the
// environment names for the command package pkg, or "" if none is named.
// A relative path is looked up in the working directory, then in the Bazel
// runfiles tree of the running test ($TEST_SRCDIR/$TEST_WORKSPACE), so a
// BUILD file can pass $(rootpath //cmd/dcrts).
func Prebuilt(pkg string) (string, error) {
	name, ok := prebuiltEnv[path.Base(pkg)]
	if !ok {
		return "", nil
	}
	p := os.Getenv(name)
	if p == "" {
		return "", nil
	}
	candidates := []string{p}
	if !filepath.IsAbs(p) {
		if srcdir := os.Getenv("TEST_SRCDIR"); srcdir != "" {
			candidates = append(candidates, filepath.Join(srcdir, os.Getenv("TEST_WORKSPACE"), p))
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("%s=%s: no such file (a relative path is looked up in the working directory and in $TEST_SRCDIR/$TEST_WORKSPACE)", name, p)
}

// GoBuildStatic builds the Go package pkg (run from dir; "" is the working
// directory) into out as a static linux/amd64 binary, the form every
// program dropped into a guest (dcrts, crashrig-sqlserver) must have. If the
// environment names a prebuilt binary of pkg (see Prebuilt), it is copied
// instead.
func GoBuildStatic(ctx context.Context, dir, pkg, out string) error {
	bin, err := Prebuilt(pkg)
	if err != nil {
		return err
	}
	if bin != "" {
		if err := CopyFile(bin, out, 0o755); err != nil {
			return fmt.Errorf("copy prebuilt %s: %w", pkg, err)
		}
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
