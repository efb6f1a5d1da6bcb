package serverkind_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashrig/crashrig/database/sqlbackend"
	"github.com/crashrig/crashrig/database/store"
	"github.com/crashrig/crashrig/serverkind"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestWaitAnswerAnswersOnceTheServerListens(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := sqlbackend.NewServer(st, sqlbackend.Config{Listener: ln, RootPassword: "pw"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve() })
	t.Cleanup(func() { srv.Close(); wg.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, serverkind.WaitAnswer(ctx, serverkind.DSN("root", "pw", ln.Addr().String(), ""), nil))
	ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Dial and try timeouts longer than the wait: on a busy host a slow
	// accept must not replace the refusal as the last error (only the
	// try the wait's end cuts short, which does not count).
	wrong, err := mysql.ParseDSN(serverkind.DSN("root", "wrong", ln.Addr().String(), ""))
	require.NoError(t, err)
	wrong.Timeout = time.Minute
	err = serverkind.WaitAnswer(ctx, wrong.FormatDSN(), make(chan struct{}),
		serverkind.WithInterval(10*time.Millisecond), serverkind.WithTryTimeout(time.Minute))
	// A refused login is not an answer; it keeps trying until done or ctx.
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "Access denied")
}

func TestWaitAnswerReturnsWhenDoneCloses(t *testing.T) {
	done := make(chan struct{})
	time.AfterFunc(100*time.Millisecond, func() { close(done) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := serverkind.WaitAnswer(ctx, serverkind.DSN("root", "", closedAddr(t), ""), done)
	require.Error(t, err)
	assert.ErrorIs(t, err, serverkind.ErrGone)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "connection refused", "the last query error is kept")
}

// A try that hangs (the port accepts but never speaks MySQL, as slirp's
// forward does while the guest is down) is cut short when done closes.
func TestWaitAnswerCutsAHangingTryShort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
		for _, c := range held {
			c.Close()
		}
	})
	done := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { close(done) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	err = serverkind.WaitAnswer(ctx, serverkind.DSN("root", "", ln.Addr().String(), "")+"&timeout=90s",
		done, serverkind.WithTryTimeout(time.Minute))
	assert.ErrorIs(t, err, serverkind.ErrGone)
	assert.Less(t, time.Since(start), 30*time.Second, "the try in flight did not wait for its own timeout")
}

func TestWaitAnswerEndsWithCtx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := serverkind.WaitAnswer(ctx, serverkind.DSN("root", "", closedAddr(t), ""), nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, errors.Is(err, serverkind.ErrGone))
}
