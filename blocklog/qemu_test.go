package blocklog

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoggedDiskArgs(t *testing.T) {
	d := LoggedDisk{ID: "data", Path: "/v/data,1.raw", Log: "/v/data.log", PCIAddr: 6}
	got, err := d.QEMUArgs()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-blockdev", "driver=file,filename=/v/data,,1.raw,node-name=data-file",
		"-blockdev", "driver=raw,file=data-file,node-name=data-fmt",
		"-blockdev", "driver=file,filename=/v/data.log,node-name=data-logfile",
		"-blockdev", "driver=blklogwrites,node-name=data,file=data-fmt,log=data-logfile,log-append=off",
		"-device", "virtio-blk-pci,drive=data,addr=0x6,write-cache=on",
	}
	if !slices.Equal(got, want) {
		t.Errorf("args\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []LoggedDisk{{Path: "p", Log: "l"}, {ID: "a,b", Path: "p", Log: "l"}, {ID: "x", Path: "p", Log: "l", Format: "vmdk"}} {
		if _, err := bad.QEMUArgs(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestLoggedDiskQEMUAccepts starts QEMU (paused, no guest) with the logged
// disk and asks it over QMP what it built. Run it under the shared VM lock:
// flock /tmp/crashrig-vm.lock go test -run LoggedDiskQEMU ./blocklog
func TestLoggedDiskQEMUAccepts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts QEMU")
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	dir := t.TempDir()
	data, log := filepath.Join(dir, "data.raw"), filepath.Join(dir, "data.log")
	if err := os.WriteFile(data, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(data, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := CreateLog(log); err != nil {
		t.Fatal(err)
	}
	args, err := LoggedDisk{ID: "data", Path: data, Log: log, PCIAddr: 6}.QEMUArgs()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"-nodefaults", "-no-user-config", "-display", "none", "-machine", "pc", "-accel", "tcg", "-S", "-qmp", "stdio",
	}, args...)...)
	cmd.Stdin = strings.NewReader(`{"execute":"qmp_capabilities"}
{"execute":"query-named-block-nodes"}
{"execute":"qom-get","arguments":{"path":"/machine/peripheral-anon/device[0]","property":"write-cache"}}
{"execute":"quit"}
`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, out)
	}
	var replies []map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("qmp output: %v\n%s", err, out)
		}
		if _, ok := m["return"]; ok {
			replies = append(replies, m)
		}
		if e, ok := m["error"]; ok {
			t.Fatalf("qmp error %s\n%s", e, out)
		}
	}
	if len(replies) < 3 {
		t.Fatalf("%d QMP replies\n%s", len(replies), out)
	}
	var nodes []struct {
		NodeName string `json:"node-name"`
		Drv      string `json:"drv"`
	}
	if err := json.Unmarshal(replies[1]["return"], &nodes); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(nodes, func(n struct {
		NodeName string `json:"node-name"`
		Drv      string `json:"drv"`
	}) bool {
		return n.NodeName == "data" && n.Drv == "blklogwrites"
	}) {
		t.Errorf("no blklogwrites node named data in %s", replies[1]["return"])
	}
	if wc := string(replies[2]["return"]); wc != `"on"` {
		t.Errorf("device write-cache = %s, want \"on\"", wc)
	}
}
