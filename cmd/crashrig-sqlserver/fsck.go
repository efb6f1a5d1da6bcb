package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crashrig/crashrig/database/store"
)

// runFsck implements `crashrig-sqlserver fsck`: it reports on a data
// directory without changing it, and only with -revive-with-data-loss cuts
// a corrupt journal back to the last commit before the damage (keeping a
// copy of what it cuts and a description of the loss in the directory).
// Exit codes: 0 clean (or revived), 1 damage found or an error, 2 usage.
func runFsck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("crashrig-sqlserver fsck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dataDir string
	fs.StringVar(&dataDir, "data-dir", "", "data directory (required)")
	fs.StringVar(&dataDir, "data", "", "same as -data-dir")
	logFile := fs.String("log-file", "", "also append the outcome to this log file")
	revive := fs.Bool("revive-with-data-loss", false, "cut a corrupt journal at the last commit before the damage, LOSING every later commit "+
		"(the cut bytes are kept in JOURNAL.lost-TIME and the loss is described in "+store.LossFilePrefix+"TIME.txt)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if dataDir == "" {
		fmt.Fprintln(stderr, "fsck: -data-dir is required")
		return 2
	}
	logw := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "fsck: open log file: %v\n", err)
			return 1
		}
		defer f.Close()
		logw = io.MultiWriter(stderr, f)
	}
	logger := log.New(logw, "fsck: ", log.LstdFlags|log.Lmicroseconds)
	r, err := store.Check(dataDir)
	if err != nil {
		logger.Printf("check %s: %v", dataDir, err)
		return 1
	}
	fmt.Fprint(stdout, r)
	switch {
	case r.Manifest == nil && len(r.Journals) > 0:
		logger.Printf("%s has journal files (%s) but no MANIFEST; the server refuses to start. Restore the MANIFEST from a backup; fsck does not guess it",
			dataDir, strings.Join(r.Journals, ", "))
		return 1
	case !r.Corrupt():
		return 0
	case !*revive:
		logger.Printf("journal %s is corrupt at offset %d; the server refuses to start. To go on with the %d commits before the damage, "+
			"LOSING %d later commits, run: crashrig-sqlserver fsck -data-dir %s -revive-with-data-loss", r.Journal, r.BadOffset, r.LastSeq, r.RootsAfter, dataDir)
		return 1
	}
	rv, err := store.Revive(dataDir, time.Now())
	if err != nil {
		logger.Printf("revive %s: %v", dataDir, err)
		return 1
	}
	logger.Printf("DATA LOSS: revived %s at commit seq %d; discarded bytes %d-%d of %s (%d valid records, %d commits after the damage at offset %d); "+
		"the discarded bytes are in %s, the description in %s",
		dataDir, r.LastSeq, r.GoodEnd, r.Size, r.Journal, r.ValidAfter, r.RootsAfter, r.BadOffset, filepath.Base(rv.TailFile), filepath.Base(rv.LossFile))
	return 0
}
