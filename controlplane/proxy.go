package controlplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
)

// portProxy forwards a fixed host loopback port to a port of the machine
// that runs the VM now. QEMU owns its hostfwd ports, and a standby is a
// second QEMU with ports of its own: the proxy keeps the VM's DSN and SSH
// address the same across standby resets. A connection lives as long as
// the machine it reached (QEMU's exit closes the slirp side, which ends
// both directions), as it would without the proxy.
type portProxy struct {
	lis     net.Listener
	backend func() (string, bool) // current machine's host address; false: none
	logf    func(format string, args ...any)

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func newPortProxy(ctx context.Context, backend func() (string, bool), logf func(string, ...any)) (*portProxy, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &portProxy{lis: lis, backend: backend, logf: logf, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *portProxy) addr() string { return p.lis.Addr().String() }

func (p *portProxy) serve() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

// track registers c (false once the proxy is closed).
func (p *portProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *portProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// forward joins c to the current machine. No machine, or a refused dial,
// closes c: the client sees what slirp shows it while a guest boots.
func (p *portProxy) forward(c net.Conn) {
	defer p.untrack(c)
	addr, ok := p.backend()
	if !ok {
		return
	}
	b, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	if !p.track(b) {
		b.Close()
		return
	}
	defer p.untrack(b)
	// Either side ending ends both (MySQL and SSH do not half-close): a
	// machine killed by a crash drops its clients, as slirp would.
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	var wg sync.WaitGroup
	wg.Go(func() { pipe(b, c) })
	wg.Go(func() { pipe(c, b) })
	<-done
	c.Close()
	b.Close()
	wg.Wait()
}

// close stops accepting, ends every connection and waits for the
// forwarding goroutines.
func (p *portProxy) close() {
	p.mu.Lock()
	p.done = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	p.lis.Close()
	for c := range conns {
		c.Close()
	}
	p.wg.Wait()
}
