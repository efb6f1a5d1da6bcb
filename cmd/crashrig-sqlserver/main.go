// Command crashrig-sqlserver is the bundled system under test: a
// MySQL-compatible SQL server (go-mysql-server front end) whose storage is
// crashrig's own journaled chunk store. Acknowledged commits are durable
// (one journal fsync per commit before the OK packet).
//
// Usage:
//
//	crashrig-sqlserver -data-dir DIR [-listen 127.0.0.1:3306] [-log-file FILE] [-root-password PW | -insecure-no-root-password]
//	    [-secure-file-priv DIR|off] [-max-connections N] [-max-allowed-packet BYTES]
//	    [-start-gate=stdin [-start-gate-ready-fd N]]
//	crashrig-sqlserver fsck -data-dir DIR [-revive-with-data-loss]
//
// TEST-ONLY fault switches plant known durability bugs so the crash
// harness can prove it detects them. They require both
// -unsafe-fault=NAME[,NAME...] and the environment variable
// CRASHRIG_UNSAFE_FAULTS=I_UNDERSTAND. Never enable them otherwise.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/crashrig/crashrig/database/sqlbackend"
	"github.com/crashrig/crashrig/database/store"
)

// version is the server version; overridable with -ldflags "-X main.version=...".
var version = "0.1.0"

// defaultSecureDir is secure_file_priv's default, inside the data directory.
const defaultSecureDir = "secure-files"

// secureDir resolves -secure-file-priv: "" is the default directory in
// the data directory, "off" (or MySQL's "NULL") turns file access off.
func secureDir(dataDir, flag string) string {
	switch strings.ToLower(flag) {
	case "":
		return filepath.Join(dataDir, defaultSecureDir)
	case "off", "null":
		return ""
	}
	return flag
}

// faultEnv is the environment variable that must accompany -unsafe-fault.
const (
	faultEnv     = "CRASHRIG_UNSAFE_FAULTS"
	faultEnvWant = "I_UNDERSTAND"
)

// startGateStdin is -start-gate's one value: wait for a line on stdin.
const startGateStdin = "stdin"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin))
}

func run(args []string, stdin io.Reader) int {
	if len(args) > 0 && args[0] == "fsck" {
		return runFsck(args[1:], os.Stdout, os.Stderr)
	}
	fs := flag.NewFlagSet("crashrig-sqlserver", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "data directory (required)")
	listen := fs.String("listen", "127.0.0.1:3306", "address to listen on")
	logFile := fs.String("log-file", "", "append logs to this file (default stderr)")
	rootPassword := fs.String("root-password", "", "password for root@'%' when the database is first created")
	noRootPassword := fs.Bool("insecure-no-root-password", false, "allow root@'%' without a password (the server refuses to start otherwise)")
	secureFilePriv := fs.String("secure-file-priv", "", "the only directory LOAD_FILE, INTO OUTFILE and LOAD DATA INFILE may use, for accounts with FILE "+
		"(default DATA_DIR/"+defaultSecureDir+"; \"off\" disables server-side file access)")
	maxConns := fs.Int("max-connections", sqlbackend.DefaultMaxConnections, "maximum simultaneous client connections (error 1040 beyond; -1: no limit)")
	maxPacket := fs.Int64("max-allowed-packet", sqlbackend.DefaultMaxAllowedPacket, "default max_allowed_packet in bytes (largest client message)")
	startGate := fs.String("start-gate", "", "\""+startGateStdin+"\": after parsing the flags, wait for a line on stdin before touching -data-dir or -log-file "+
		"(a standby VM starts the server before its data disk is mounted); stdin closing first is an error")
	gateReadyFD := fs.Int("start-gate-ready-fd", 0, "with -start-gate: close this inherited file descriptor (a pipe) once waiting at the gate, "+
		"so the process that started the server knows its initialisation is done")
	showVersion := fs.Bool("version", false, "print version and exit")
	faults := fs.String("unsafe-fault", "", "TEST-ONLY: comma-separated durability bugs to plant ("+
		strings.Join(store.FaultNames, ", ")+"); also requires "+faultEnv+"="+faultEnvWant)
	gcPause := fs.Duration("unsafe-gc-pause", 0, "TEST-ONLY: sleep this long inside GC after its deletion/swap step, to widen crash windows; requires "+faultEnv+"="+faultEnvWant)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println("crashrig-sqlserver", version)
		return 0
	}
	if *gateReadyFD != 0 && (*startGate == "" || *gateReadyFD <= 2) {
		fmt.Fprintf(os.Stderr, "-start-gate-ready-fd: want an inherited descriptor above 2 with -start-gate, got %d\n", *gateReadyFD)
		return 2
	}
	switch *startGate {
	case "":
	case startGateStdin:
		// Package initialisation (go-icu-regex compiles its wasm module,
		// seconds under TCG) has run by now; the data disk may not be
		// mounted yet, so nothing before this line may open a file on it.
		fmt.Fprintln(os.Stderr, "start gate: waiting for a line on stdin")
		if *gateReadyFD > 0 {
			// EOF on the other end: waiting at the gate.
			if err := os.NewFile(uintptr(*gateReadyFD), "start-gate-ready").Close(); err != nil {
				fmt.Fprintf(os.Stderr, "-start-gate-ready-fd %d: %v\n", *gateReadyFD, err)
				return 2
			}
		}
		if err := waitStartGate(stdin); err != nil {
			fmt.Fprintf(os.Stderr, "start gate: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(os.Stderr, "-start-gate: want %q, got %q\n", startGateStdin, *startGate)
		return 2
	}
	var out io.Writer = os.Stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "open log file: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	logger := log.New(out, "", log.LstdFlags|log.Lmicroseconds)
	logrus.SetOutput(out)
	logrus.SetLevel(logrus.WarnLevel)
	if *dataDir == "" {
		logger.Print("-data-dir is required")
		return 2
	}

	opts := store.Options{Logf: logger.Printf}
	if *faults != "" || *gcPause != 0 {
		if os.Getenv(faultEnv) != faultEnvWant {
			logger.Printf("refusing -unsafe-fault/-unsafe-gc-pause: set %s=%s to confirm this is a test", faultEnv, faultEnvWant)
			return 2
		}
		for _, name := range strings.Split(*faults, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if err := opts.Faults.Set(name); err != nil {
				logger.Print(err)
				return 2
			}
		}
		if *gcPause > 0 {
			pause := *gcPause
			early := opts.Faults.GCEarlyDelete
			opts.GCHook = func(step store.GCStep) error {
				// Pause where the fault's window is: after the old journal is
				// gone (early delete) or after the manifest swap (correct GC).
				if (early && step == store.GCOldRemoved) || (!early && step == store.GCManifestSwapped) {
					logger.Printf("unsafe-gc-pause: pausing %v after %s", pause, step)
					time.Sleep(pause)
				}
				return nil
			}
		}
		for _, n := range opts.Faults.Names() {
			logger.Printf("WARNING: UNSAFE TEST-ONLY FAULT ENABLED: %s -- this server deliberately loses or corrupts data", n)
		}
	}

	st, err := store.Open(*dataDir, opts)
	if err != nil {
		logger.Printf("open store: %v", err)
		return 1
	}
	ri := st.Recovery()
	logger.Printf("recovered root %s seq %d generation %d journal %s chunks %d discarded-tail-bytes %d in %v (created=%v)",
		ri.Root.Short(), ri.Seq, ri.Generation, ri.Journal, ri.Chunks, ri.TornBytes, ri.Duration.Round(time.Microsecond), ri.Created)
	if ri.StopReason != "" && ri.TornBytes > 0 {
		logger.Printf("recovery: journal tail discarded: %s", ri.StopReason)
	}
	if losses, _ := filepath.Glob(filepath.Join(*dataDir, store.LossFilePrefix+"*")); len(losses) > 0 {
		logger.Printf("WARNING: this database was revived with data loss; see %s", strings.Join(losses, ", "))
	}

	cfg := sqlbackend.Config{
		Address: *listen, RootPassword: *rootPassword, AllowEmptyRootPassword: *noRootPassword,
		Version:        "8.0.33-crashrig-" + version,
		SecureFilePriv: secureDir(*dataDir, *secureFilePriv),
		MaxConnections: *maxConns, MaxAllowedPacket: *maxPacket,
	}
	if *maxConns == 0 {
		cfg.MaxConnections = -1
	}
	srv, err := sqlbackend.NewServer(st, cfg)
	if errors.Is(err, sqlbackend.ErrRootWithoutPassword) {
		logger.Printf("start server: %v: pass -root-password PW when creating the database, or -insecure-no-root-password to accept a root without password", err)
		_ = st.Close()
		return 1
	}
	if err != nil {
		logger.Printf("start server: %v", err)
		_ = st.Close()
		return 1
	}
	logger.Printf("listening on %s; ready for connections", srv.Addr())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	select {
	case sig := <-sigs:
		logger.Printf("received %v; shutting down", sig)
	case err := <-served:
		if err != nil {
			logger.Printf("server stopped: %v", err)
		}
	}
	_ = srv.Close()
	// Close waits for an in-flight commit to finish its fsync and refuses
	// new ones.
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		logger.Printf("close store: %v", err)
		return 1
	}
	logger.Print("shutdown complete")
	return 0
}

// waitStartGate waits for the release: one line on r. A reader that ends
// first (the agent that started the server died) is an error.
func waitStartGate(r io.Reader) error {
	_, err := bufio.NewReader(r).ReadString('\n')
	if errors.Is(err, io.EOF) {
		return errors.New("stdin closed before the release line")
	}
	if err != nil {
		return fmt.Errorf("read the release line from stdin: %w", err)
	}
	return nil
}
