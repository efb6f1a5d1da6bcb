package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envHoldSlot makes the test binary a helper process that holds a slot for
// the given duration (see TestMain).
const envHoldSlot = "CRASHRIG_TEST_HOLD_SLOT"

func TestMain(m *testing.M) {
	if d := os.Getenv(envHoldSlot); d != "" {
		hold, err := time.ParseDuration(d)
		if err != nil {
			panic(err)
		}
		release, err := AcquireSlot(context.Background(), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("holding")
		time.Sleep(hold)
		release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// slotEnv gives the test a slot directory of its own with n slots.
func slotEnv(t *testing.T, n int) string {
	dir := t.TempDir()
	t.Setenv(EnvSlotDir, dir)
	t.Setenv(EnvSlots, fmt.Sprint(n))
	return dir
}

// busy reports whether another open file could lock slot i now.
func busy(t *testing.T, dir string, i int) bool {
	f, err := tryLock(filepath.Join(dir, fmt.Sprintf("slot-%d", i)))
	require.NoError(t, err)
	if f == nil {
		return true
	}
	f.Close()
	return false
}

// holdSlotElsewhere starts this test binary as a helper process that holds
// a slot for d, and returns once it has it; the helper is waited for at
// the end of the test.
func holdSlotElsewhere(t *testing.T, d string) *exec.Cmd {
	t.Helper()
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), envHoldSlot+"="+d)
	out, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	t.Cleanup(func() { _ = helper.Wait() })
	buf := make([]byte, 16)
	n, _ := out.Read(buf)
	require.Equal(t, "holding", strings.TrimSpace(string(buf[:n])), "the helper has the slot")
	return helper
}

func TestSlotIsSharedWithinAProcess(t *testing.T) {
	dir := slotEnv(t, 1)
	ctx := context.Background()
	r1, err := AcquireSlot(ctx, nil)
	require.NoError(t, err)
	// A second VM of the same process must not wait for the first: a test
	// with two VMs would deadlock against a limit of one.
	ctx2, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r2, err := AcquireSlot(ctx2, nil)
	require.NoError(t, err)
	assert.True(t, busy(t, dir, 0))
	r1()
	r1() // a release is idempotent
	assert.True(t, busy(t, dir, 0), "still held by the second VM")
	r2()
	assert.False(t, busy(t, dir, 0), "free after the last VM")
}

func TestSlotWaitsForOtherProcessAndSaysSo(t *testing.T) {
	slotEnv(t, 1)
	helper := holdSlotElsewhere(t, "1500ms")

	var mu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(f, a...))
	}
	start := time.Now()
	release, err := AcquireSlot(context.Background(), logf)
	require.NoError(t, err)
	defer release()
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "must wait for the helper's slot")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, logs, 2, "one line when the wait starts, one when it ends: %q", logs)
	assert.Contains(t, logs[0], fmt.Sprintf("held by pid %d", helper.Process.Pid))
	assert.Contains(t, logs[1], "got it after waiting")
}

func TestSlotWaitEndsWithContextAndNamesHolder(t *testing.T) {
	slotEnv(t, 1)
	helper := holdSlotElsewhere(t, "3s")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := AcquireSlot(ctx, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), fmt.Sprintf("held by pid %d", helper.Process.Pid))
}

func TestSlotsFromEnvironment(t *testing.T) {
	t.Setenv(EnvSlots, "3")
	n, err := Slots()
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	t.Setenv(EnvSlots, "zero")
	_, err = Slots()
	assert.ErrorContains(t, err, EnvSlots)
}
