package controlplane

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/vmimage"
)

func TestCleanupsRunOnceInReverse(t *testing.T) {
	q := &qemuVM{}
	var order []string
	q.onCleanup(func() { order = append(order, "dir") })
	q.onCleanup(func() { order = append(order, "console") })
	q.onCleanup(func() { order = append(order, "qemu") })
	q.cleanup()
	q.cleanup()
	assert.Equal(t, []string{"qemu", "console", "dir"}, order)
	// A step that finishes after a Kill is undone at once.
	q.onCleanup(func() { order = append(order, "late") })
	assert.Equal(t, []string{"qemu", "console", "dir", "late"}, order)
}

// A failed step is named, and what the steps before it made is undone.
func TestStartVMNamesTheFailingStepAndUndoesTheOthers(t *testing.T) {
	cp, _ := newTestCP(t, WithAccel("tcg"))
	im := &vmimage.Image{Dir: filepath.Join(t.TempDir(), "no-such-image")}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where StartVM makes the VM directory
	_, err := cp.StartVM(ctxT(t, time.Minute), VMSpec{Image: im})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start VM vm1: root disk overlay: ")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "the VM directory is removed")
	assert.Empty(t, cp.vms, "the VM is forgotten")
}
