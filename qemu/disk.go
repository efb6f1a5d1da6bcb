package qemu

import (
	"context"
	"fmt"
	"os/exec"
)

// CreateOverlay makes a qcow2 file at path whose backing file is base, so a
// VM can write freely while base (the image) is never modified.
func CreateOverlay(ctx context.Context, base, path string) error {
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2",
		"-b", base, "-F", "qcow2", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create overlay %s over %s: %w: %s", path, base, err, out)
	}
	return nil
}

// CreateOverlayOnRaw makes a qcow2 file at path over a raw base image (a
// built crash state): the VM writes to the overlay and base stays as built.
func CreateOverlayOnRaw(ctx context.Context, base, path string) error {
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2",
		"-b", base, "-F", "raw", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create overlay %s over raw %s: %w: %s", path, base, err, out)
	}
	return nil
}

// CreateDisk makes an empty qcow2 disk of size (e.g. "2G").
func CreateDisk(ctx context.Context, path, size string) error {
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", path, size).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create %s: %w: %s", path, err, out)
	}
	return nil
}

// CreateRawDisk makes an empty sparse raw disk of size (e.g. "2G").
func CreateRawDisk(ctx context.Context, path, size string) error {
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "raw", path, size).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create %s: %w: %s", path, err, out)
	}
	return nil
}
