package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/crashrig/crashrig/tests/checker"
)

func TestWriteExplanations(t *testing.T) {
	dir := t.TempDir()
	res := checker.Result{Workload: "append", Files: map[string][]byte{
		"append-001-G0.txt": []byte("cycle T0 -> T1 -> T0\n"),
		"append-001-G0.dot": []byte("digraph \"G0\" {\n  T0 -> T1;\n  T1 -> T0;\n}\n"),
	}}
	names, err := WriteExplanations(context.Background(), dir, []checker.Result{{Workload: "set"}, res})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"append-001-G0.dot", "append-001-G0.txt"}
	if _, err := exec.LookPath("dot"); err == nil {
		want = []string{"append-001-G0.dot", "append-001-G0.svg", "append-001-G0.txt"}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("written %v, want %v", names, want)
	}
	for name, data := range res.Files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(data) {
			t.Errorf("%s: %q, %v; want %q", name, got, err, data)
		}
	}
}
