package tests

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"

	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/tests/checker"
	"github.com/crashrig/crashrig/tests/harness"
	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/workload"
)

// altTarget is a spec file for a server the harness has no Go code for (a
// second copy of the bundled server with other flags and data layout).
const altTarget = "testdata/targets/alt-sqlserver.toml"

// TestCrashSpecFile is the acceptance test of spec files: TestCrash on
// ext4-ordered, driven by altTarget alone. The run's length and workloads
// come from the -crash.* flags, as for TestCrash.
func TestCrashSpecFile(t *testing.T) {
	cfg := config(t)
	cfg.Target, cfg.FS = altTarget, []string{"ext4-ordered"} // FS: for the repro line
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	server, _, err := cfg.Server()
	if err != nil {
		t.Fatal(err)
	}
	if server.Name != "alt-sqlserver" {
		t.Fatalf("%s: spec name %q", altTarget, server.Name)
	}
	fss, err := harness.LookupFS(cfg.FS)
	if err != nil {
		t.Fatal(err)
	}
	requirePass(t, runCrash(t, cfg, fss[0], backends["vm"](t, cfg)))
}

// Every spec file in testdata loads, and the acceptance spec stays small.
func TestTargetSpecFilesLoad(t *testing.T) {
	paths, err := filepath.Glob("testdata/targets/*.toml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no spec files in testdata/targets: %v", err)
	}
	for _, p := range paths {
		if _, err := serverkind.LoadSpec(p); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(altTarget)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 40 {
		t.Errorf("%s has %d lines; the acceptance spec must fit in 40", altTarget, n)
	}
}

// The acceptance spec drives a real server on the host the way the agent
// does in a VM (files, init, start, admin login, bootstrap, the
// workloads' account), on a free port; the VM run is TestCrashSpecFile.
func TestSpecFileDrivesServerOnHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the bundled server")
	}
	spec, err := serverkind.LoadSpec(altTarget)
	if err != nil {
		t.Fatal(err)
	}
	in := runSpecOnHost(t, spec, serverBinary(t))
	if _, err := os.Stat(filepath.Join(in.DataDir, "alt", "db")); err != nil {
		t.Errorf("the spec's data layout: %v", err)
	}
}

// TestDoltSpecOnHost is TestSpecFileDrivesServerOnHost for the built-in
// Dolt spec; opt-in: CRASHRIG_DOLT=1 and the binary the spec names.
func TestDoltSpecOnHost(t *testing.T) {
	if os.Getenv("CRASHRIG_DOLT") == "" {
		t.Skip("Dolt tests are opt-in: set CRASHRIG_DOLT=1 (and build the binary, tests/README.md#targets)")
	}
	spec, err := serverkind.Builtin("dolt")
	if err != nil {
		t.Fatal(err)
	}
	runSpecOnHost(t, spec, spec.Install.Binary)
}

// TestDoltWorkloadsOnHost runs Dolt's workloads against Dolt on the host
// for a few seconds each, without crashes, and checks them: the
// statements work on Dolt (remotes; ddl with dolt_undrop; gc with
// dolt_gc; users) and the checkers pass a correct run. Opt-in like
// TestDoltSpecOnHost.
func TestDoltWorkloadsOnHost(t *testing.T) {
	if os.Getenv("CRASHRIG_DOLT") == "" {
		t.Skip("Dolt tests are opt-in: set CRASHRIG_DOLT=1 (and build the binary, tests/README.md#targets)")
	}
	spec, err := serverkind.Builtin("dolt")
	if err != nil {
		t.Fatal(err)
	}
	in := runSpecOnHost(t, spec, spec.Install.Binary)
	dsn := serverkind.ClientDSN(in.Spec, net.JoinHostPort("127.0.0.1", strconv.Itoa(in.Port)))
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+workload.DB); err != nil {
		t.Fatal(err)
	}
	opts := workload.Options{Server: spec, Flavor: model.Flavor(spec.Name), RemoteDir: t.TempDir(), ThinkTime: time.Millisecond}
	for _, tc := range []struct {
		name  string
		wants []string // functions that must have acknowledged ops
		// finding is the page of a Dolt bug this workload's checker
		// catches without crashes: its failure is logged, not fatal.
		finding string
	}{
		{name: model.Remotes, wants: []string{model.FPush, model.FClone, model.FPull, model.FRemoteAdd}},
		{name: model.DDL, wants: []string{model.FDDL}},
		{name: model.Set, wants: []string{model.FAdd}},
		{name: model.Bank, wants: []string{model.FTransfer}, finding: "dolt-lost-update-concurrent-transactions.md"},
		{name: model.Register},
		// gc must collect, not just not fail: every call answered
		// "Empty database name" (info) until the workload chose a database.
		{name: model.GC, wants: []string{model.FGC}},
		{name: model.Users, wants: []string{model.FCreateUser, model.FGrant, model.FRevoke, model.FSetPassword, model.FDropUser}, finding: "dolt-revoke-database-drops-table-grants.md"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := workload.New(tc.name, opts)
			if err != nil {
				t.Fatal(err)
			}
			if u, ok := w.(workload.DSNUser); ok {
				u.UseDSN(dsn) // logins as the users it creates
			}
			rec := history.NewRecorder(nil)
			if err := w.Setup(ctx, db, rec); err != nil {
				t.Fatal(err)
			}
			// As many clients as a run has, concurrently: the server's
			// transactions must hold up against each other.
			rctx, rcancel := context.WithTimeout(ctx, 8*time.Second)
			var wg sync.WaitGroup
			for i := range w.Clients(3) {
				c := workload.NewClient(w, i+1, i, 7, db, rec, opts)
				wg.Go(func() {
					defer c.Close()
					w.Run(rctx, c)
				})
			}
			wg.Wait()
			rcancel()
			state, err := w.Snapshot(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			res := checker.Check(rec.Entries(), tc.name, state)
			t.Log(res.Summary())
			switch {
			case !res.OK() && tc.finding != "":
				t.Logf("the %s checker failed a run without crashes, as docs/findings/%s says", tc.name, tc.finding)
			case !res.OK():
				t.Fatalf("the %s checker failed a run without crashes", tc.name)
			}
			for _, f := range tc.wants {
				if res.Stats[f+"-ok"] == 0 {
					t.Errorf("no %s was acknowledged: %v; first error: %s", f, res.Stats, firstError(rec.Entries(), f))
				}
			}
			if tc.name == model.DDL && !strings.Contains(string(state), model.KindUndropDatabase) {
				t.Errorf("no drop-and-undrop database in the ddl state: %s", state)
			}
			if tc.name == model.GC {
				for _, e := range rec.Entries() {
					if e.Type == history.Fail {
						t.Fatalf("dolt_gc failed: %v", e)
					}
				}
			}
		})
	}
}

// runSpecOnHost runs spec's server on the host the way the agent does in
// a VM, checks that the workloads' account can write and run the gc
// statement, and returns the instance.
func runSpecOnHost(t *testing.T, spec *serverkind.Spec, binary string) serverkind.Instance {
	t.Helper()
	ps := &pb.ProvisionServer{Kind: spec.Name, Server: spec.Definition(), RootPassword: "rootpw",
		User: "crashrig", Password: "app'pw", Database: "crash"}
	k, err := serverkind.KindOf(ps)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	in := serverkind.Instance{Spec: ps, DataDir: t.TempDir(), StateDir: t.TempDir(), Binary: binary, Port: port}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := k.Init(ctx, in); err != nil {
		t.Fatal(err)
	}
	cmd := k.Command(in)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	if err := serverkind.WaitAnswer(ctx, k.AdminDSN(in), nil); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	admin, err := sql.Open("mysql", k.AdminDSN(in))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := k.Bootstrap(ctx, admin, in); err != nil {
		t.Fatal(err)
	}
	dsn := serverkind.ClientDSN(ps, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	app, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, "CREATE TABLE t (k BIGINT PRIMARY KEY)"); err != nil {
		t.Fatalf("the workloads' account cannot write its database: %v", err)
	}
	if _, err := app.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ExecContext(ctx, spec.GCStatement([]string{"t"})); err != nil {
		t.Errorf("gc statement %q: %v", spec.GC, err)
	}
	return in
}

// firstError is the error of the first op f that did not succeed.
func firstError(entries []history.Entry, f string) string {
	for _, e := range entries {
		if e.F == f && e.Error != "" {
			return e.Error
		}
	}
	return "none recorded"
}
