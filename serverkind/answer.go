package serverkind

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql" // WaitAnswer's driver
)

// ErrGone is wrapped by WaitAnswer's error when its done channel closed:
// whatever runs the server (its process, its VM) is gone, so waiting on
// is futile.
var ErrGone = errors.New("server host is gone")

type waitOptions struct {
	tryTimeout time.Duration
	interval   time.Duration
}

// WaitOption configures WaitAnswer.
type WaitOption func(*waitOptions)

// WithTryTimeout bounds each query (default 3s): a server that accepts the
// connection but hangs must not stall the loop.
func WithTryTimeout(d time.Duration) WaitOption { return func(o *waitOptions) { o.tryTimeout = d } }

// WithInterval is the pause between failed tries (default 50ms).
func WithInterval(d time.Duration) WaitOption { return func(o *waitOptions) { o.interval = d } }

// WaitAnswer runs "SELECT 1" on dsn, each try on a fresh connection, until
// the server answers (nil), ctx ends, or done closes (nil done: never).
// Either failure wraps the last query error; the done case wraps ErrGone
// and returns at once, even in the middle of a try.
func WaitAnswer(ctx context.Context, dsn string, done <-chan struct{}, opts ...WaitOption) error {
	o := waitOptions{tryTimeout: 3 * time.Second, interval: 50 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return fmt.Errorf("wait for answer: %w", err)
	}
	defer db.Close()
	db.SetMaxIdleConns(0) // a connection from before a crash is dead

	// gone cancels the tries when done closes; the watcher ends with this
	// call.
	wctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	if done != nil {
		wg.Go(func() {
			select {
			case <-done:
				cancel(ErrGone)
			case <-wctx.Done():
			}
		})
	}
	var last error
	for {
		tctx, tcancel := context.WithTimeout(wctx, o.tryTimeout)
		var one int
		err := db.QueryRowContext(tctx, "SELECT 1").Scan(&one)
		tcancel()
		if err == nil {
			return nil
		}
		// A try cut short by the end of the wait says less than the one
		// before it.
		if last == nil || !waitEnded(wctx) {
			last = err
		}
		select {
		case <-wctx.Done():
		case <-time.After(o.interval):
			continue
		}
		if cause := context.Cause(wctx); errors.Is(cause, ErrGone) {
			return fmt.Errorf("%w (last error: %v)", ErrGone, last)
		}
		return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
	}
}

// waitEnded says whether the wait is over. Past the deadline counts even
// before ctx reports it: a dial sets the deadline on its socket, and its
// "i/o timeout" can come before the context's own timer fires.
func waitEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
