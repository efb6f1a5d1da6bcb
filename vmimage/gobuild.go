package vmimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// GoBuildStatic builds the Go package pkg (run from dir; "" is the working
// directory) into out as a static linux/amd64 binary, the form every
// program dropped into a guest (dcrts, crashrig-sqlserver) must have.
func GoBuildStatic(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
