package qemu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// DialQMP connects to QEMU's QMP socket at path, which appears shortly
// after p starts; it gives up when p exits, ctx ends or 30 s pass.
func DialQMP(ctx context.Context, path string, p *Process) (*qmp.SocketMonitor, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		mon, err := qmp.NewSocketMonitor("unix", path, 2*time.Second)
		if err == nil {
			if err = connect(ctx, mon, p, time.Until(deadline)); err == nil {
				return mon, nil
			}
			_ = mon.Disconnect()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("QMP socket %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.Done():
			return nil, errors.New("QEMU exited before its QMP socket answered")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// connect runs mon.Connect, which reads QEMU's greeting with no deadline of
// its own, and gives up with ctx, QEMU's exit or after d: a QEMU that
// accepts the socket but never greets must not hang its caller.
// Disconnecting ends the abandoned read.
func connect(ctx context.Context, mon *qmp.SocketMonitor, p *Process, d time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- mon.Connect() }()
	timer := time.NewTimer(max(d, time.Second))
	defer timer.Stop()
	var err error
	select {
	case err = <-errc:
		return err
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.Done():
		err = errors.New("QEMU exited before its QMP greeting")
	case <-timer.C:
		err = errors.New("no QMP greeting")
	}
	_ = mon.Disconnect()
	<-errc
	return err
}
