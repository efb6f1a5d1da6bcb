package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/tests/harness"
)

// altTarget is a spec file for a server the harness has no Go code for (a
// second copy of the bundled server with other flags and data layout).
const altTarget = "testdata/targets/alt-sqlserver.toml"

// TestCrashSpecFile is the acceptance test of spec files: TestCrash on
// ext4-ordered, driven by altTarget alone. The run's length and workloads
// come from the -crash.* flags, as for TestCrash.
func TestCrashSpecFile(t *testing.T) {
	cfg := config(t)
	cfg.Target = altTarget
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
	fss, err := harness.LookupFS([]string{"ext4-ordered"})
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
