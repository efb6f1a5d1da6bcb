package crashstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
	}
	runQEMUIO(ctx, t, qemuIO, dir, opts, script)

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

// runQEMUIO runs qemu-io's commands on the block graph opts, then cuts the
// power: qemu-io's abort command ends the process without the flush a clean
// close would log.
func runQEMUIO(ctx context.Context, t *testing.T, qemuIO, dir, opts string, script []string) {
	t.Helper()
	// -t writeback: a volatile write cache, as a VM's virtio-blk disk with
	// write-cache=on has. qemu-io's default, writethrough, turns every write
	// into write+flush.
	args := []string{"-t", "writeback", "--image-opts", opts}
	for _, c := range append(script, "abort") {
		args = append(args, "-c", c)
	}
	// ulimit: no core file from the abort.
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -c 0; exec "$0" "$@"`, qemuIO}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("qemu-io did not abort: %v\n%s", err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("qemu-io ended with %v, not by its abort command\n%s", err, out)
	}
	if strings.Contains(string(out), "Pattern verification failed") {
		t.Fatalf("qemu-io: %s", out)
	}
}

// TestQEMUConcurrentWrites checks logs of requests QEMU had in flight
// together (qemu-io's aio_write): every entry is readable and the state with
// everything kept is QEMU's disk.
func TestQEMUConcurrentWrites(t *testing.T) {
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		t.Skip("qemu-io not installed (Debian: qemu-utils)")
	}
	dir := t.TempDir()
	basePath, dataPath, logPath := filepath.Join(dir, "base.raw"), filepath.Join(dir, "data.raw"), filepath.Join(dir, "log")
	base := bytes.Repeat([]byte{0x5a}, 4<<20)
	for _, p := range []string{basePath, dataPath} {
		if err := os.WriteFile(p, base, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := blocklog.CreateLog(logPath); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var script []string
	// Disjoint ranges of different sizes, so completions can come in any
	// order; overlapping concurrent writes have no defined result.
	for k := 0; k < 16; k++ {
		script = append(script, fmt.Sprintf("aio_write -P %#x %d %d", 0x10+k, k*(128<<10), (k%4+1)*(16<<10)))
		if k == 7 {
			script = append(script, "aio_flush", "flush")
		}
	}
	script = append(script, "aio_flush")
	runQEMUIO(ctx, t, qemuIO, dir, fmt.Sprintf("driver=blklogwrites,log-append=off,"+
		"file.driver=file,file.filename=%s,log.driver=file,log.filename=%s", dataPath, logPath), script)

	ix, err := ScanFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 17 || !slices.Equal(ix.FlushPositions(), []uint64{9}) {
		t.Fatalf("%d entries, flushes at %v; want 17 entries, a flush at 9", ix.Len(), ix.FlushPositions())
	}
	all := filepath.Join(dir, "all.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, all, ix.Len(), 1, WithDropProbability(0), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(all)
	want, _ := os.ReadFile(dataPath)
	if !bytes.Equal(got, want) {
		t.Error("state with every write kept differs from QEMU's disk")
	}
	// Cut at the flush with the rest lost: the first 8 writes only.
	lost := filepath.Join(dir, "lost.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, lost, ix.Len(), 1, WithDropProbability(1), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(lost)
	for k := 0; k < 16; k++ {
		off, n := k*(128<<10), (k%4+1)*(16<<10)
		wantByte := byte(0x10 + k)
		if k > 7 {
			wantByte = 0x5a
		}
		if !bytes.Equal(got[off:off+n], bytes.Repeat([]byte{wantByte}, n)) {
			t.Errorf("write %d: want %#x throughout", k, wantByte)
		}
	}
}

// TestQEMULogBeforeFirstFlush: QEMU writes the log's super block at its
// first flush, so a power cut before one leaves entries and no super block.
func TestQEMULogBeforeFirstFlush(t *testing.T) {
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		t.Skip("qemu-io not installed (Debian: qemu-utils)")
	}
	dir := t.TempDir()
	basePath, dataPath, logPath := filepath.Join(dir, "base.raw"), filepath.Join(dir, "data.raw"), filepath.Join(dir, "log")
	base := bytes.Repeat([]byte{0x5a}, 1<<20)
	for _, p := range []string{basePath, dataPath} {
		if err := os.WriteFile(p, base, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := blocklog.CreateLog(logPath); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runQEMUIO(ctx, t, qemuIO, dir, fmt.Sprintf("driver=blklogwrites,log-append=off,"+
		"file.driver=file,file.filename=%s,log.driver=file,log.filename=%s", dataPath, logPath),
		[]string{"write -P 0x61 0 4k", "write -P 0x62 64k 8k"})
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, err := blocklog.ReadSuper(f); err != nil || !s.Missing {
		t.Fatalf("super %+v, %v: want missing", s, err)
	}
	ix, err := ScanFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 || len(ix.FlushPositions()) != 0 {
		t.Fatalf("%d entries, flushes %v; want 2 writes", ix.Len(), ix.FlushPositions())
	}
	all := filepath.Join(dir, "all.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, all, ix.Len(), 1, WithDropProbability(0), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(all)
	want, _ := os.ReadFile(dataPath)
	if !bytes.Equal(got, want) {
		t.Error("state with every write kept differs from QEMU's disk")
	}
}

// TestQEMUOverlayOverState checks the copy-free way to run on a built state:
// the data disk is a qcow2 overlay whose backing file is the state (raw), so
// QEMU never writes the state, and that state is the next log's base image.
func TestQEMUOverlayOverState(t *testing.T) {
	qemuIO, err := exec.LookPath("qemu-io")
	if err != nil {
		t.Skip("qemu-io not installed (Debian: qemu-utils)")
	}
	dir := t.TempDir()
	basePath, overlay, logPath := filepath.Join(dir, "state.raw"), filepath.Join(dir, "data.qcow2"), filepath.Join(dir, "log")
	base := bytes.Repeat([]byte{0x5a}, 1<<20)
	if err := os.WriteFile(basePath, base, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-b", basePath, "-F", "raw", overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	if err := blocklog.CreateLog(logPath); err != nil {
		t.Fatal(err)
	}
	runQEMUIO(ctx, t, qemuIO, dir, fmt.Sprintf("driver=blklogwrites,log-append=off,"+
		"file.driver=qcow2,file.file.driver=file,file.file.filename=%s,"+
		"log.driver=file,log.filename=%s", overlay, logPath),
		[]string{"write -P 0x71 4k 8k", "flush", "write -P 0x72 512k 4k"})
	guest := filepath.Join(dir, "guest.raw")
	if out, err := exec.CommandContext(ctx, "qemu-img", "convert", "-O", "raw", overlay, guest).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	ix, err := ScanFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	all := filepath.Join(dir, "all.raw")
	if _, _, err := BuildAt(ctx, ix, logPath, basePath, all, ix.Len(), 1, WithDropProbability(0), WithTearProbability(0)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(all)
	want, _ := os.ReadFile(guest)
	// The unflushed write at 512 KiB is in the log but, QEMU having died
	// with the qcow2 metadata for it in memory, not in the overlay: after a
	// kill the log, not the data disk, is the record.
	unflushed := 512 << 10
	if !bytes.Equal(got[:unflushed], want[:unflushed]) || !bytes.Equal(got[unflushed+4096:], want[unflushed+4096:]) {
		t.Error("state with every write kept differs from the guest's view of the overlay outside the unflushed write")
	}
	if !bytes.Equal(got[unflushed:unflushed+4096], bytes.Repeat([]byte{0x72}, 4096)) {
		t.Error("the unflushed write is not in the state with every write kept")
	}
	if b, _ := os.ReadFile(basePath); !bytes.Equal(b, base) {
		t.Error("QEMU wrote the backing state")
	}
}
