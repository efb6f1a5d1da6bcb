// Command dcrts is crashrig's in-guest agent (the "DCRTS" daemon). Busybox
// init starts it at every boot (/etc/crashrig/rc.dcrts) and respawns it.
// It learns where the control plane is, its VM id and its token from QEMU's
// fw_cfg file opt/crashrig/agent (a protojson crashrigpb.AgentConfig; the
// qemu_fw_cfg module shows it under /sys/firmware/qemu_fw_cfg), so one image
// serves every test and the token is in no process's argument list. An
// agent run elsewhere reads the same config from the file named by
// $CRASHRIG_AGENT_CONFIG. It dials OUT to the control plane and keeps one
// gRPC stream open: hello, heartbeats, command results and events up;
// commands down.
//
// A provisioned server comes back by itself after a reset: the provisioning
// spec is kept durably on the root disk and replayed at boot (mount, start,
// wait until it answers) whether or not the control plane is reachable.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// version is reported in the hello.
var version = "0.1.0"

// healthAddr is the guest-local gRPC health endpoint (never exposed: slirp
// forwards only the ports the control plane asks for, and it binds loopback).
const healthAddr = "127.0.0.1:7070"

// healthService is the health service name that tracks the SQL server.
const healthService = "crashrig.server"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		// "dcrts health" asks the running agent's health service (for
		// tests and for a human on the VM's console or SSH).
		os.Exit(healthCheck())
	}
	os.Exit(run())
}

// healthCheck prints the agent's and the SQL server's health; it exits 0
// only if both are SERVING.
func healthCheck() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(healthAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	rc := 0
	for _, svc := range []string{"", healthService} {
		r, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: svc}, grpc.WaitForReady(true))
		if err != nil {
			fmt.Fprintf(os.Stderr, "health %q: %v\n", svc, err)
			return 2
		}
		name := svc
		if name == "" {
			name = "dcrts"
		}
		fmt.Printf("%s: %s\n", name, r.GetStatus())
		if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			rc = 1
		}
	}
	return rc
}

func run() int {
	logOut := io.Writer(os.Stdout)
	if f, err := os.OpenFile(defaultPaths.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		defer f.Close()
		logOut = io.MultiWriter(os.Stdout, f)
	}
	logger := slog.New(uptimeHandler{slog.NewTextHandler(logOut, nil)})
	// First line at once: its uptime shows what the boot cost up to here.
	logger.Info("dcrts process started", "version", version)
	// The driver logs every refused connection while the server starts.
	mysql.SetLogger(log.New(io.Discard, "", 0))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	bootID, err := readBootID()
	if err != nil {
		logger.Error("boot id", "err", err)
	}

	hs := health.NewServer()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	hs.SetServingStatus(healthService, healthpb.HealthCheckResponse_NOT_SERVING)
	if ln, err := net.Listen("tcp", healthAddr); err != nil {
		logger.Error("health service", "err", err)
	} else {
		go gs.Serve(ln)
		defer gs.Stop()
	}

	a, err := NewAgent(config{}, bootID, defaultPaths, logger, hs)
	if err != nil {
		logger.Error("agent", "err", err)
		return 1
	}
	defer a.Close()
	// The server comes back first, independent of the control plane (and
	// meanwhile the config is read: loading qemu_fw_cfg takes a while
	// under TCG).
	a.StartRestore(ctx)
	cfgStart := time.Now()
	cfg, path, err := loadConfig()
	logger.Info("agent config", "path", path, "took", time.Since(cfgStart).Round(time.Millisecond))
	if err != nil {
		logger.Error("no usable agent config; not connecting", "err", err)
	}
	if path == "" || err != nil {
		logger.Info("no agent config (fw_cfg or $" + configEnv + "): not connecting to a control plane; idling")
		<-ctx.Done()
		return 0
	}
	a.useConfig(cfg, path)
	logger.Info("dcrts connecting", "vm", cfg.VMID, "cp", cfg.CP, "boot_id", a.bootID)
	a.Run(ctx)
	return 0
}

// uptimeHandler adds the guest uptime to every record: boot timelines read
// straight off the console (the guest clock itself starts wherever the
// emulated RTC says).
type uptimeHandler struct{ slog.Handler }

func (h uptimeHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("uptime", fmt.Sprintf("%.2f", uptime())))
	return h.Handler.Handle(ctx, r)
}

func (h uptimeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return uptimeHandler{h.Handler.WithAttrs(attrs)}
}

func (h uptimeHandler) WithGroup(name string) slog.Handler {
	return uptimeHandler{h.Handler.WithGroup(name)}
}

// uptime is /proc/uptime's first field in seconds (0 if unreadable).
func uptime() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	var up float64
	fmt.Sscan(string(b), &up)
	return up
}

func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
