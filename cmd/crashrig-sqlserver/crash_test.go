package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/vmimage"
)

// The binary is built once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crashrig-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crashrig-sqlserver")
		// Copies $CRASHRIG_SQLSERVER_BIN instead if set (Bazel).
		buildErr = vmimage.GoBuildStatic(context.Background(), "", "github.com/crashrig/crashrig/cmd/crashrig-sqlserver", binPath)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is one server process.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	logPath string
	done    chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start launches the server and waits for "ready for connections"; it
// returns an error if the process exits first. A free port can be taken
// between freeAddr closing it and the server binding it (another test
// process's outgoing connection on a busy host): then it tries another.
func start(t *testing.T, dataDir string, env []string, args ...string) (*proc, error) {
	t.Helper()
	for try := 1; ; try++ {
		p, err := startOnce(t, dataDir, env, args...)
		if err != nil && try < 5 && errors.Is(err, errPortTaken) {
			t.Logf("start: %v; trying another port", err)
			continue
		}
		return p, err
	}
}

// errPortTaken: the port freeAddr found was taken before the server bound it.
var errPortTaken = errors.New("port taken before the server bound it")

func startOnce(t *testing.T, dataDir string, env []string, args ...string) (*proc, error) {
	t.Helper()
	p := &proc{t: t, addr: freeAddr(t), logPath: filepath.Join(dataDir+".logs", fmt.Sprintf("server-%d.log", time.Now().UnixNano())), done: make(chan error, 1)}
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binary(t), append([]string{"-data-dir", dataDir, "-listen", p.addr, "-log-file", p.logPath, "-insecure-no-root-password"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(p.kill)
	deadline := time.After(20 * time.Second)
	for {
		if strings.Contains(p.log(), serverkind.ReadyForConnections) {
			return p, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			if strings.Contains(p.log(), "listen tcp "+p.addr+": bind: address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, p.addr)
			}
			return nil, fmt.Errorf("server exited before ready (%v):\n%s", err, p.log())
		case <-deadline:
			p.kill()
			t.Fatalf("server not ready:\n%s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func mustStart(t *testing.T, dataDir string, env []string, args ...string) *proc {
	t.Helper()
	p, err := start(t, dataDir, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

func (p *proc) db(t *testing.T) *sql.DB {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "tcp", p.addr
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 3*time.Second, 10*time.Second, 10*time.Second
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func exec1(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

const (
	accounts     = 10
	startBalance = 1000
)

func setupSchema(t *testing.T, db *sql.DB) {
	t.Helper()
	exec1(t, db, "CREATE DATABASE w")
	exec1(t, db, "CREATE TABLE w.ins (id BIGINT PRIMARY KEY, writer INT, note VARCHAR(64), KEY kw (writer))")
	exec1(t, db, "CREATE TABLE w.acct (id INT PRIMARY KEY, bal BIGINT NOT NULL)")
	for i := 0; i < accounts; i++ {
		exec1(t, db, "INSERT INTO w.acct VALUES (?, ?)", i, startBalance)
	}
}

func isConflict(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// workload runs writers until each sees an error (the server died) or ctx
// ends; it returns the ids whose insert was acknowledged, and any error
// that happened while the server was supposed to be alive.
func workload(ctx context.Context, db *sql.DB, writers int, base int64, killed *atomic.Bool, acks *atomic.Int64) ([]int64, []error) {
	var (
		mu         sync.Mutex
		acked      []int64
		unexpected []error
		wg         sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(base + int64(w)))
			for seq := int64(0); ctx.Err() == nil; seq++ {
				id := base + int64(w)*1_000_000 + seq
				var err error
				if seq%3 == 0 {
					err = transfer(ctx, db, rng, id)
				} else {
					_, err = db.ExecContext(ctx, "INSERT INTO w.ins VALUES (?, ?, 'autocommit')", id, w)
				}
				if isConflict(err) {
					continue
				}
				if err != nil {
					// Server gone (or ctx over): outcome unknown, not acked.
					if !killed.Load() && ctx.Err() == nil {
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
				acks.Add(1)
			}
		}(w)
	}
	wg.Wait()
	return acked, unexpected
}

// transfer moves money between two accounts and records id in w.ins, all
// in one transaction.
func transfer(ctx context.Context, db *sql.DB, rng *rand.Rand, id int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	a, b := rng.Intn(accounts), rng.Intn(accounts)
	if a == b {
		b = (a + 1) % accounts
	}
	var bal int64
	if err := tx.QueryRowContext(ctx, "SELECT bal FROM w.acct WHERE id = ?", a).Scan(&bal); err != nil {
		return err
	}
	amt := int64(rng.Intn(50))
	if _, err := tx.ExecContext(ctx, "UPDATE w.acct SET bal = ? WHERE id = ?", bal-amt, a); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE w.acct SET bal = bal + ? WHERE id = ?", amt, b); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO w.ins VALUES (?, -1, 'transfer')", id); err != nil {
		return err
	}
	return tx.Commit()
}

// verify checks that every acknowledged id is present and no transfer is
// half-applied (the total balance is conserved).
func verify(db *sql.DB, acked []int64) error {
	present := map[int64]bool{}
	rows, err := db.Query("SELECT id FROM w.ins")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		present[id] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	missing := 0
	for _, id := range acked {
		if !present[id] {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d acknowledged rows missing", missing, len(acked))
	}
	var total, n int64
	if err := db.QueryRow("SELECT COALESCE(SUM(bal), 0), COUNT(*) FROM w.acct").Scan(&total, &n); err != nil {
		return err
	}
	if total != accounts*startBalance || n != accounts {
		return fmt.Errorf("accounts: %d rows, total %d, want %d and %d (partial transaction visible)", n, total, accounts, accounts*startBalance)
	}
	return nil
}

func crashCycles(t *testing.T, cycles int, withGC bool) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := mustStart(t, dataDir, nil)
	setupSchema(t, p.db(t))
	var acked []int64
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for c := 0; c < cycles; c++ {
		db := p.db(t)
		db.SetMaxOpenConns(8)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		var (
			gcRuns int
			gcErr  error
			gcWG   sync.WaitGroup
			killed atomic.Bool
		)
		if withGC {
			gcWG.Add(1)
			go func() {
				defer gcWG.Done()
				for ctx.Err() == nil {
					if _, err := db.ExecContext(ctx, "CALL crashrig_gc()"); err != nil {
						if !killed.Load() && ctx.Err() == nil {
							gcErr = err
						}
						return
					}
					gcRuns++
				}
			}()
		}
		// The kill comes at a random moment once the cycle has an ack: a
		// busy host may take longer than the delay to acknowledge anything,
		// and a cycle without acks proves nothing.
		killAfter := time.Duration(150+rng.Intn(400)) * time.Millisecond
		victim := p
		var acks atomic.Int64
		var killerWG sync.WaitGroup
		killerWG.Go(func() {
			select {
			case <-time.After(killAfter):
			case <-ctx.Done():
				return
			}
			for acks.Load() == 0 && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			killed.Store(true)
			victim.kill()
		})
		got, unexpected := workload(ctx, db, 4, int64(c+1)*100_000_000, &killed, &acks)
		killerWG.Wait()
		killed.Store(true)
		p.kill()
		cancel()
		gcWG.Wait()
		if gcErr != nil {
			t.Fatalf("cycle %d: GC failed while the server was up: %v", c, gcErr)
		}
		for _, err := range unexpected {
			t.Fatalf("cycle %d: client failed while the server was up (clients may wait, never fail): %v", c, err)
		}
		acked = append(acked, got...)
		t.Logf("cycle %d: killed after %v, %d acknowledged this cycle, %d GC runs", c, killAfter, len(got), gcRuns)
		if len(got) == 0 {
			t.Fatalf("cycle %d: no acknowledged writes; log:\n%s", c, p.log())
		}
		p = mustStart(t, dataDir, nil)
		if err := verify(p.db(t), acked); err != nil {
			t.Fatalf("cycle %d: %v\nlog:\n%s", c, err, p.log())
		}
	}
	p.kill()
}

func TestKill9Recovery(t *testing.T) { crashCycles(t, 4, false) }

func TestKill9RecoveryWithConcurrentGC(t *testing.T) { crashCycles(t, 3, true) }

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := mustStart(t, dataDir, nil)
	db := p.db(t)
	setupSchema(t, db)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if !strings.Contains(p.log(), "shutdown complete") {
		t.Fatalf("log:\n%s", p.log())
	}
	p2 := mustStart(t, dataDir, nil)
	if err := verify(p2.db(t), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p2.log(), "recovered root") || !strings.Contains(p2.log(), "generation 1") {
		t.Fatalf("startup line missing:\n%s", p2.log())
	}
}

const faultOK = "CRASHRIG_UNSAFE_FAULTS=I_UNDERSTAND"

func TestFaultSwitchNeedsEnvironment(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := start(t, dataDir, nil, "-unsafe-fault=skip-fsync"); err == nil {
		t.Fatal("fault enabled without the environment variable")
	}
	if _, err := start(t, dataDir, []string{faultOK}, "-unsafe-fault=no-such-fault"); err == nil {
		t.Fatal("unknown fault accepted")
	}
	p := mustStart(t, dataDir, []string{faultOK}, "-unsafe-fault=skip-fsync")
	if !strings.Contains(p.log(), "WARNING: UNSAFE TEST-ONLY FAULT ENABLED: skip-fsync") {
		t.Fatalf("no warning in log:\n%s", p.log())
	}
}
