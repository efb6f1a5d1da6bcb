package resetlog

import (
	"strings"
	"testing"
	"time"
)

const sample = `[   0.100] crashrig: initramfs uptime=0.90
[   3.000] time=2026-11-30T11:08:48.098Z level=INFO msg="dcrts process started" version=0.1.0 uptime=2.90
[  10.000] ==== crashrig: QMP system_reset ====
[  12.600] crashrig: initramfs uptime=1.50
[  13.300] crashrig: root mounted uptime=2.20
[  14.100] crashrig: rc.boot uptime=3.00
[  14.700] time=2026-11-30T11:08:48.098Z level=INFO msg="dcrts process started" version=0.1.0 uptime=3.60
[  15.050] crashrig login: time=2026-11-30T11:08:49.119Z level=INFO msg="data disk mounted" device=/dev/vdb options="" uptime=3.95
[  15.100] crashrig login: time=2026-11-30T11:08:55.553Z level=INFO msg="server ready" kind=mariadb pid=144 own_recovery=0s recovery_reported=false uptime=5.00
[  16.200] ==== crashrig: host query answered ====
[  20.000] ==== crashrig: QMP system_reset ====
[  22.000] crashrig: initramfs uptime=1.00
`

func TestParse(t *testing.T) {
	resets, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(resets) != 2 {
		t.Fatalf("got %d resets, want 2 (the cold boot is none)", len(resets))
	}
	r := resets[0]
	// Steps at their lines' host times; uptime 0 from the first mark:
	// 12.6-1.5 = 11.1, i.e. 1.1 s after the reset at 10.0. The server
	// ready line shares its console line with getty's prompt (host time
	// 15.1): it is placed 1.05 s of guest time after data mounted, at 16.1.
	want := map[string]float64{
		"reset sent": 0, "uptime 0": 1.1, "initramfs": 2.6, "root mounted": 3.3, "rc.boot": 4.1,
		"agent started": 4.7, "data mounted": 5.05, "server ready": 6.1, "answered": 6.2,
	}
	for step, sec := range want {
		got, ok := r.At[step]
		if !ok {
			t.Errorf("step %q missing", step)
			continue
		}
		if d := got - time.Duration(sec*float64(time.Second)); d > time.Millisecond || d < -time.Millisecond {
			t.Errorf("step %q at %v, want %.2fs", step, got, sec)
		}
	}
	if _, ok := r.At["connected"]; ok {
		t.Errorf("step connected found, but the log has none")
	}
	if got := resets[1].At["initramfs"]; got != time.Second+time.Second {
		t.Errorf("second reset: initramfs at %v, want 2s", got)
	}
	ivs := Intervals(resets)
	if len(ivs) == 0 || ivs[0].From != "reset sent" || ivs[0].To != "uptime 0" || ivs[0].N != 2 {
		t.Errorf("first interval %+v, want reset sent -> uptime 0 over 2 resets", ivs)
	}
	var b strings.Builder
	WriteTable(&b, resets)
	if !strings.Contains(b.String(), "median") {
		t.Errorf("table without a median row:\n%s", b.String())
	}
}
