package crashstate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crashrig/crashrig/blocklog"
)

// TestQEMUBlklogwrites checks the reader and the builder against a log
// QEMU itself wrote, without a VM: qemu-io drives the same blklogwrites
// block driver a VM's data disk would use, and is then killed with SIGKILL
// (its abort command: no closing flush), as the powercut nemesis kills QEMU.
func TestQEMUBlklogwrites(t *testing.T) {
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		t.Skip("qemu-io not installed (Debian: qemu-utils)")
	}
	dir := t.TempDir()
	const size = 1 << 20
	base := bytes.Repeat([]byte{0x5a}, size)
	basePath, dataPath, logPath := filepath.Join(dir, "base.raw"), filepath.Join(dir, "data.raw"), filepath.Join(dir, "log")
	for _, p := range []string{basePath, dataPath} {
		if err := os.WriteFile(p, base, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A pre-sized, all-zero log: the reader finds its end at the first
	// zero entry sector past the super block's count.
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(logPath, 8<<20); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := fmt.Sprintf("driver=blklogwrites,log-append=off,discard=unmap,"+
		"file.driver=file,file.filename=%s,file.discard=unmap,"+
		"log.driver=file,log.filename=%s", dataPath, logPath)
	script := []string{
		"write -P 0x11 0 8k",  // 0
		"flush",               // 1
		"write -P 0x22 4k 4k", // 2: overwrites half of 0
		"discard 64k 8k",      // 3
		"write -z 128k 4k",    // 4: write-zeroes, logged as a write of zeros
		// 5, 6: a FUA write, which QEMU 7.2 emulates by flushing after the
		// write; the flush covers 2-5. (QEMU skips that flush when nothing
		// was written since the last one, its write counter being bumped
		// only after the write: a FUA write straight after a flush is
		// logged as a plain write. virtio-blk has no FUA, so a guest sends
		// explicit flushes instead and this does not arise.)
		"write -f -P 0x55 192k 4k",
		"write -P 0x33 256k 16k", // 7: never flushed
		"write -P 0x44 260k 4k",  // 8: never flushed, overwrites part of 7
		// The power cut: qemu-io's abort ends the process without the
		// flush a clean close would log.
		"abort",
	}
	// -t writeback: a volatile write cache, as a VM's virtio-blk disk with
	// write-cache=on has. qemu-io's default, writethrough, turns every write
	// into write+flush.
	args := []string{"-t", "writeback", "--image-opts", opts}
	for _, c := range script {
		args = append(args, "-c", c)
	}
	// No core file from the abort.
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -c 0; exec "$0" "$@"`, qemuIO}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || !ee.Exited() && ee.Sys() == nil {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "can't open") {
		t.Fatalf("qemu-io: %s", out)
	}

	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sup, err := blocklog.ReadSuper(f)
	if err != nil {
		t.Fatal(err)
	}
	if sup.NrEntries != 7 {
		t.Errorf("super block counts %d entries, want 7 (QEMU updates it at each flush)", sup.NrEntries)
	}
	ix, err := ScanFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := []blocklog.Flags{0, blocklog.FlagFlush, 0, blocklog.FlagDiscard, 0, 0, blocklog.FlagFlush, 0, 0}
	if len(ix.Ops) != len(wantFlags) {
		t.Fatalf("log has %d entries, want %d: %+v", len(ix.Ops), len(wantFlags), ix.Ops)
	}
	for i, f := range wantFlags {
		if ix.Ops[i].Flags != f {
			t.Errorf("entry %d: flags %v, want %v", i, ix.Ops[i].Flags, f)
		}
	}
	if got := ix.FlushPositions(); !slices.Equal(got, []uint64{2, 7}) {
		t.Errorf("flush positions %v, want [2 7]", got)
	}

	// Everything kept: exactly the disk QEMU wrote.
	qemuDisk, err := os.ReadFile(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	all := filepath.Join(dir, "all.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, all, ix.Len(), 1, WithDropProbability(0), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	built, err := os.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, qemuDisk) {
		t.Error("state with every write kept differs from QEMU's disk")
	}

	// The unflushed writes lost: the disk as of the second flush.
	lost := filepath.Join(dir, "lost.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, lost, ix.Len(), 1, WithDropProbability(1), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	built, err = os.ReadFile(lost)
	if err != nil {
		t.Fatal(err)
	}
	expect := append([]byte(nil), base...)
	copy(expect[0:], bytes.Repeat([]byte{0x11}, 8<<10))
	copy(expect[4<<10:], bytes.Repeat([]byte{0x22}, 4<<10))
	copy(expect[64<<10:], make([]byte, 8<<10))
	copy(expect[128<<10:], make([]byte, 4<<10))
	copy(expect[192<<10:], bytes.Repeat([]byte{0x55}, 4<<10))
	if !bytes.Equal(built, expect) {
		t.Error("state with the unflushed writes lost is not the disk as of the last flush")
	}
	if !bytes.Equal(qemuDisk[:256<<10], expect[:256<<10]) {
		t.Error("QEMU's disk disagrees with the script before the unflushed writes")
	}
}
