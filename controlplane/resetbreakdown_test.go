package controlplane_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/bench/resetlog"
	"github.com/crashrig/crashrig/controlplane"
	"github.com/crashrig/crashrig/controlplane/cptest"
	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage"
	"github.com/crashrig/crashrig/vmimage/vmtest"
)

// BenchmarkResetBreakdown hard-resets a VM again and again and breaks each
// reset down into boot steps from the console log (bench/resetlog): for
// both servers, idle and with writers committing while the reset hits.
// $CRASHRIG_BENCH_KERNEL_ARGS adds kernel arguments (e.g. initcall_debug);
// $CRASHRIG_BENCH_OUT names a directory that keeps each VM's console log
// and its last boot's dmesg (go run ./bench/resettimes reads the logs).
//
//	flock /tmp/crashrig-vm.lock go test ./controlplane -run '^$' -bench ResetBreakdown -benchtime 10x
func BenchmarkResetBreakdown(b *testing.B) {
	vmtest.SkipIfShort(b)
	im := vmtest.Image(b)
	bin := vmtest.BuildStatic(b, "./cmd/crashrig-sqlserver")
	// The writers' connections die at every reset; the driver logs each.
	mysql.SetLogger(log.New(io.Discard, "", 0))
	// Names without '=' or ',': they become part of QEMU's -qmp path.
	for name, kind := range map[string]string{"bundled": serverkind.Bundled, "mariadb": serverkind.MariaDB} {
		for _, writers := range []int{0, 4} {
			b.Run(fmt.Sprintf("%s/writers%d", name, writers), func(b *testing.B) {
				benchResetBreakdown(b, im, bin, kind, writers)
			})
		}
	}
}

func benchResetBreakdown(b *testing.B, im *vmimage.Image, bin, kind string, writers int) {
	cp := cptest.New(b)
	var kargs []string
	if a := os.Getenv("CRASHRIG_BENCH_KERNEL_ARGS"); a != "" {
		kargs = strings.Fields(a)
	}
	vm := cptest.StartVM(b, cp, controlplane.VMSpec{Image: im, KernelArgs: kargs})
	ctx := b.Context()
	spec := controlplane.ServerSpec{Kind: kind, Database: "b"}
	switch kind {
	case serverkind.Bundled:
		require.NoError(b, vm.Install(ctx, serverkind.Bundled, "bench", bin))
		spec.Version = "bench"
		spec.ErrorLogPatterns = []string{`FATAL:|^panic: |fatal error: `}
	default:
		spec.ErrorLogPatterns = errorPatterns
	}
	dsn, err := vm.Provision(ctx, spec)
	require.NoError(b, err)
	db := openDB(b, dsn)
	_, err = db.ExecContext(ctx, "CREATE TABLE w (id BIGINT PRIMARY KEY, v VARCHAR(64))")
	require.NoError(b, err)

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	for w := range writers {
		wg.Go(func() { commitUntil(wctx, dsn, w) })
	}

	var answered []time.Duration
	reset := func() {
		time.Sleep(time.Second) // let the writers get going in the new boot
		res, err := vm.HardReset(ctx)
		require.NoError(b, err)
		answered = append(answered, res.Timeline.Answered)
	}
	for b.Loop() {
		reset()
	}
	for len(answered) < 5 {
		reset()
	}
	stop()
	wg.Wait()

	resets, err := resetlog.Parse(strings.NewReader(vm.Console()))
	require.NoError(b, err)
	require.Len(b, resets, len(answered), "one breakdown per reset")
	var table strings.Builder
	resetlog.WriteTable(&table, resets)
	table.WriteString("median cost of each step:\n")
	for _, iv := range resetlog.Intervals(resets) {
		fmt.Fprintf(&table, "  %-15s -> %-15s %6.2fs (n=%d)\n", iv.From, iv.To, iv.Median.Seconds(), iv.N)
	}
	b.Logf("console %s\n%s", vm.ConsolePath(), table.String())
	med, _ := resetlog.Medians(resets)
	for _, step := range []string{"uptime 0", "boot complete", "agent started", "server ready", "connected", "answered"} {
		if d, ok := med[step]; ok {
			b.ReportMetric(d.Seconds(), strings.ReplaceAll(step, " ", "-")+"-s")
		}
	}
	if dir := os.Getenv("CRASHRIG_BENCH_OUT"); dir != "" {
		// The VM's directory goes with the benchmark: keep its evidence.
		name := strings.ReplaceAll(b.Name(), "/", "_")
		require.NoError(b, os.WriteFile(filepath.Join(dir, name+".console.log"), []byte(vm.Console()), 0o644))
		if _, out, err := vm.Exec(ctx, "dmesg"); err == nil {
			require.NoError(b, os.WriteFile(filepath.Join(dir, name+".dmesg.txt"), []byte(out), 0o644))
		}
		b.Logf("console log and the last boot's dmesg saved in %s", dir)
	}
	cptest.NoEvents(b, vm)
}

// commitUntil commits small inserts over its own connections until ctx
// ends, reconnecting after every error (a reset drops them all).
func commitUntil(ctx context.Context, dsn string, worker int) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	for i := 0; ctx.Err() == nil; i++ {
		id := int64(worker)<<40 | int64(i)
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := db.ExecContext(qctx, "INSERT INTO w VALUES (?, ?)", id, strings.Repeat("x", 64))
		cancel()
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}
