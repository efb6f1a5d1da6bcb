package harness

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/tests/workload"
)

// quietDriver silences go-sql-driver's own logging: during crashes it
// prints every reset connection, and the history already records each
// error against its operation.
var quietDriver sync.Once

// openDB opens a pool on dsn with timeouts, so a dead server turns into
// errors (info ops) instead of hung clients.
func openDB(dsn string) (*sql.DB, error) {
	quietDriver.Do(func() { _ = mysql.SetLogger(log.New(io.Discard, "", 0)) })
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 15 * time.Second
	}
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Addr, err)
	}
	db.SetConnMaxIdleTime(30 * time.Second)
	return db, nil
}

// workloadClient is one client with the workload it runs.
type workloadClient struct {
	w workload.Workload
	c *workload.Client
}

// startClients runs every client until the returned stop is called; stop
// cancels them, waits, and drops their connections. A panic in a client
// goroutine would kill the test binary before Run's deferred persist, so it
// is caught there and re-raised by stop in the driver's goroutine.
func startClients(ctx context.Context, clients []*workloadClient) (cctx context.Context, stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	var (
		once   sync.Once
		wg     sync.WaitGroup
		mu     sync.Mutex
		panics []string
	)
	for _, wc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					panics = append(panics, fmt.Sprintf("client %d (%s): %v\n%s", wc.c.ID, wc.w.Name(), p, debug.Stack()))
					mu.Unlock()
					cancel()
				}
			}()
			wc.w.Run(cctx, wc.c)
		}()
	}
	return cctx, func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			for _, wc := range clients {
				wc.c.Close()
			}
		})
		if len(panics) > 0 {
			panic(strings.Join(panics, "\n"))
		}
	}
}

// clients creates every workload's clients, with history process ids
// unique across workloads.
func (r *run) clients() []*workloadClient {
	var clients []*workloadClient
	id := 0
	for _, w := range r.d.Workloads {
		for i := 0; i < w.Clients(r.d.Config.Workers); i++ {
			clients = append(clients, &workloadClient{w: w, c: workload.NewClient(w, id, i, r.d.Config.Seed, r.db, r.rec, r.d.Options)})
			id++
		}
	}
	return clients
}
