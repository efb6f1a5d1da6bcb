package qemu

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// DialSSH connects to addr, retrying until the guest's sshd answers or ctx
// ends. Slirp accepts TCP connections before the guest is up, and a
// connection made then waits out TCP retransmits once the guest appears, so
// each attempt must see the "SSH-" banner within a short, growing deadline
// before the handshake is given more time.
func DialSSH(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	var lastErr error
	bannerWait := time.Second
	for {
		c, err := dialSSHOnce(ctx, addr, cfg, bannerWait)
		if err == nil {
			return c, nil
		}
		lastErr = err
		bannerWait = min(bannerWait*3/2, 10*time.Second)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: %w (last error: %v)", addr, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func dialSSHOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, bannerWait time.Duration) (*ssh.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &peekedConn{Conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(bannerWait))
	if b, err := pc.r.Peek(4); err != nil || string(b) != "SSH-" {
		conn.Close()
		return nil, fmt.Errorf("no ssh banner: %q %v", b, err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, chans, reqs, err := ssh.NewClientConn(pc, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// peekedConn is a net.Conn whose first bytes were peeked at.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
