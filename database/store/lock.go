package store

import (
	"context"
	"fmt"
	"time"
)

// acquireWriter takes the write lock, waiting at most LockWait.
func (s *Store) acquireWriter(ctx context.Context) error {
	select {
	case s.writerSem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.opts.LockWait)
	defer t.Stop()
	select {
	case s.writerSem <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: timed out after %v waiting for the write lock", ErrConflict, s.opts.LockWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) releaseWriter() { <-s.writerSem }

// acquireWriterForGC waits for the write lock without the LockWait bound
// (GC is explicitly requested and may wait behind a long transaction).
func (s *Store) acquireWriterForGC(ctx context.Context) error {
	select {
	case s.writerSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
