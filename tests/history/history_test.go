package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func record(t *testing.T, rec *Recorder) {
	t.Helper()
	a := rec.Invoke(0, "set", "add", map[string]int{"k": 1})
	b := rec.Invoke(1, "set", "add", map[string]int{"k": 2})
	a.OK(nil)
	b.Fail(errors.New("Error 1062: duplicate"))
	c := rec.Invoke(2, "set", "add", map[string]int{"k": 3})
	c.Info(errors.New("invalid connection"))
	rec.Invoke(3, "set", "add", map[string]int{"k": 4}) // never completes
	n := rec.Invoke(NemesisProcess, "", FCrash, nil)
	n.OK(map[string]string{"detail": "kill -9"})
	rec.Log(CheckerProcess, "", FCheck, map[string]bool{"ok": true})
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	rec := NewRecorder(&buf)
	record(t, rec)
	got, truncated, err := Read(&buf)
	if err != nil || truncated {
		t.Fatalf("Read: %v, truncated=%v", err, truncated)
	}
	want := rec.Entries()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	if c := rec.Counts(); c[OK] != 1 || c[Fail] != 1 || c[Info] != 1 || c[Invoke] != 4 {
		t.Errorf("counts = %v; nemesis/checker entries must not count as client ops", c)
	}
}

// A test binary that dies mid-write leaves a partial last line; everything
// before it must load.
func TestReadSurvivesTruncatedLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(f)
	record(t, rec)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all := rec.Entries()
	if err := os.WriteFile(path, full[:len(full)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	got, truncated, err := ReadFile(path)
	if err != nil || !truncated {
		t.Fatalf("ReadFile: %v, truncated=%v; want the torn line dropped", err, truncated)
	}
	if !reflect.DeepEqual(got, all[:len(all)-1]) {
		t.Fatalf("got %d entries, want the first %d", len(got), len(all)-1)
	}

	// A bad line in the middle is corruption, not a torn tail.
	lines := bytes.SplitAfter(full, []byte("\n"))
	corrupt := append(append(append([]byte{}, lines[0]...), []byte("{not json\n")...), bytes.Join(lines[1:], nil)...)
	if _, _, err := Read(bytes.NewReader(corrupt)); err == nil {
		t.Fatal("corrupt middle line accepted")
	}
}

func TestOpsAndCrashes(t *testing.T) {
	rec := NewRecorder(nil)
	record(t, rec)
	ops := rec.Entries().Ops()
	if len(ops) != 5 {
		t.Fatalf("got %d ops, want 5 (log entries are not ops)", len(ops))
	}
	wantTypes := []Type{OK, Fail, Info, Info, OK}
	for i, op := range ops {
		if op.Type != wantTypes[i] {
			t.Errorf("op %d (%s %s): type %s, want %s", i, op.F, op.Invoke.Value, op.Type, wantTypes[i])
		}
	}
	if ops[3].Complete != nil {
		t.Error("the uncompleted invoke got a completion")
	}
	var v map[string]string
	if err := json.Unmarshal(ops[4].Value, &v); err != nil || v["detail"] != "kill -9" {
		t.Errorf("completion value not used: %s", ops[4].Value)
	}
	cs := rec.Entries().Crashes()
	if len(cs) != 1 || cs[0].N != 1 || cs[0].Ready.IsZero() {
		t.Fatalf("crashes = %+v", cs)
	}
	if h := rec.Entries().Before(2); len(h) != 2 || h[1].Index != 1 {
		t.Fatalf("Before(2) = %+v", h)
	}
}
