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
			if err = mon.Connect(); err == nil {
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
