// Command filljournal creates a crashrig-sqlserver data directory whose
// journal holds at least -mb MiB (for recovery-time measurements; see
// bench/compare-mariadb.sh RECOVERY_MB).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/crashrig/crashrig/database/store/storebench"
)

func main() {
	dir := flag.String("data-dir", "", "data directory to create (required)")
	mb := flag.Int64("mb", 1024, "journal size to reach, MiB")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "filljournal: -data-dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	size, err := storebench.Fill(ctx, *dir, *mb<<20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "filljournal:", err)
		os.Exit(1)
	}
	fmt.Printf("filljournal: %s: journal %.1f MiB in %v\n", *dir, float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
}
