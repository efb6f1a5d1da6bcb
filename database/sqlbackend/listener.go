package sqlbackend

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"golang.org/x/sys/unix"
)

// Defaults as in MySQL 8.
const (
	DefaultMaxAllowedPacket = 64 << 20
	DefaultMaxConnections   = 151
)

// limitListener enforces what the protocol layer of go-mysql-server
// v0.20.0 does not: max_connections (beyond it a client gets error 1040
// instead of waiting or a bare close) and max_allowed_packet (a client
// message over it gets error 1153 and the connection is closed, before the
// server reads and buffers the message's body).
type limitListener struct {
	net.Listener
	maxConns int64
	open     atomic.Int64
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.maxConns > 0 && l.open.Add(1) > l.maxConns {
			l.open.Add(-1)
			// The client expects the server greeting; an ERR packet in
			// its place is what MySQL sends too.
			_, _ = c.Write(errPacket(0, mysql.ERConCount, "08004", "Too many connections"))
			_ = c.Close()
			continue
		}
		if l.maxConns <= 0 {
			l.open.Add(1)
		}
		return &limitConn{Conn: c, l: l, maxPacket: globalMaxAllowedPacket(), closed: make(chan struct{})}, nil
	}
}

// globalMaxAllowedPacket is the max_allowed_packet a new connection gets
// (the global value at connect time, as in MySQL).
func globalMaxAllowedPacket() int64 {
	if _, v, ok := sql.SystemVariables.GetGlobal("max_allowed_packet"); ok {
		switch v := v.(type) {
		case int64:
			return v
		case uint64:
			return int64(v)
		}
	}
	return DefaultMaxAllowedPacket
}

// limitConn follows the MySQL packet framing of what the client sends:
// 4-byte headers (3-byte length, sequence id) before each body; a message
// spans several packets while they are 0xffffff bytes long.
type limitConn struct {
	net.Conn
	l         *limitListener
	maxPacket int64
	closeOnce sync.Once

	reading atomic.Bool   // inside Read: the server waits for the client (idle)
	closed  chan struct{} // closed by Close; ends the watcher

	hdr     [4]byte
	hdrHave int
	left    int64 // body bytes of the current packet still to come
	msgLen  int64 // length of the current message so far
	more    bool  // the current packet was 0xffffff long: the message goes on
}

func (c *limitConn) Read(p []byte) (int, error) {
	c.reading.Store(true)
	n, err := c.Conn.Read(p)
	c.reading.Store(false)
	if c.maxPacket > 0 {
		if seq, over := c.track(p[:n]); over {
			c.refuse(errPacket(seq+1, mysql.ERNetPacketTooLarge, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"))
			return 0, fmt.Errorf("client message over max_allowed_packet (%d bytes)", c.maxPacket)
		}
	}
	return n, err
}

// track advances the framing state over b and reports whether a message
// header announced more than maxPacket bytes (and that header's sequence id).
func (c *limitConn) track(b []byte) (seq byte, over bool) {
	for len(b) > 0 {
		if c.left > 0 {
			k := min(int64(len(b)), c.left)
			c.left -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrHave:], b)
		c.hdrHave += k
		b = b[k:]
		if c.hdrHave < len(c.hdr) {
			return 0, false
		}
		c.hdrHave = 0
		length := int64(c.hdr[0]) | int64(c.hdr[1])<<8 | int64(c.hdr[2])<<16
		if !c.more {
			c.msgLen = 0
		}
		c.msgLen += length
		c.more = length == mysql.MaxPacketSize
		c.left = length
		if c.msgLen > c.maxPacket {
			return c.hdr[3], true
		}
	}
	return 0, false
}

// refuse sends pkt and ends the connection so that the client can read
// pkt: closing a socket with unread input sends a reset, which can make
// the client drop pkt, so the write side is shut first and the client's
// input drained for a moment.
func (c *limitConn) refuse(pkt []byte) {
	_, _ = c.Conn.Write(pkt)
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(drainTime))
		_, _ = io.Copy(io.Discard, tc)
	}
	_ = c.Close()
}

// drainTime bounds how long refuse reads a refused client's input.
const drainTime = 2 * time.Second

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.l.open.Add(-1)
		close(c.closed)
	})
	return err
}

// clientGonePoll is how often a busy connection checks for its client.
const clientGonePoll = 200 * time.Millisecond

// watchClient calls gone once if the client goes away (its socket is no
// longer ESTABLISHED: it closed or reset the connection) while the server
// is busy with its command, so that the command can be cancelled. The
// engine's own check only runs while rows are sent, and not at all on
// this wrapped connection. The goroutine ends when the connection closes.
func (c *limitConn) watchClient(gone func()) {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	go func() {
		t := time.NewTicker(clientGonePoll)
		defer t.Stop()
		for {
			select {
			case <-c.closed:
				return
			case <-t.C:
			}
			if c.reading.Load() {
				continue // idle: vitess notices a closed client itself
			}
			if !established(raw) {
				gone()
				return
			}
		}
	}()
}

// established reports whether the socket is still in TCP state
// ESTABLISHED (true also when the state cannot be read).
func established(raw syscall.RawConn) bool {
	var state uint8
	ok := true
	if err := raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			ok = false
			return
		}
		state = info.State
	}); err != nil || !ok {
		return true
	}
	return state == tcpEstablished
}

// tcpEstablished is Linux's TCP_ESTABLISHED (include/net/tcp_states.h).
const tcpEstablished = 1

// errPacket is a MySQL ERR packet with the given sequence id.
func errPacket(seq byte, code int, state, msg string) []byte {
	body := []byte{0xff, 0, 0, '#'}
	binary.LittleEndian.PutUint16(body[1:3], uint16(code))
	body = append(append(body, state...), msg...)
	pkt := make([]byte, 4, 4+len(body))
	pkt[0], pkt[1], pkt[2], pkt[3] = byte(len(body)), byte(len(body)>>8), byte(len(body)>>16), seq
	return append(pkt, body...)
}
