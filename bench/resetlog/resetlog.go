// Package resetlog reads a VM's console log (qemu.ConsoleLog: every line
// prefixed with the host time since QEMU started) and breaks every hard
// reset in it down into boot steps: where the time between QMP
// system_reset and the server answering goes.
//
// Three kinds of lines carry a step: the control plane's reset mark (host
// time only), the guest's boot marks ("crashrig: STEP uptime=S", written by
// the initramfs and rc.boot) and the agent's log lines (slog text with
// uptime=S). Guest steps are placed on the host clock through the boot's
// zero: the host time of guest uptime 0, estimated as the smallest
// (host time - uptime) over the boot's lines, since the console only ever
// delays a line.
package resetlog

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ResetMark is the line the control plane writes into the console log when
// it sends QMP system_reset (controlplane.VM.HardReset).
const ResetMark = "==== crashrig: QMP system_reset ===="

// Steps are the boot steps in boot order, as named in the report; each is
// matched by its guest line (see stepOf).
var Steps = []string{
	"reset sent",     // QMP system_reset sent (zero)
	"uptime 0",       // the guest kernel starts (estimated, see package doc)
	"initramfs",      // /init of the initramfs runs
	"root mounted",   // the initramfs mounted /dev/vda (its journal replayed)
	"rc.boot",        // busybox init ran rc.boot
	"boot complete",  // rc.boot done (mounts, network)
	"agent started",  // dcrts process started
	"agent config",   // fw_cfg read
	"data mounted",   // the data disk mounted (its journal replayed)
	"server started", // the server process started
	"connected",      // the agent's hello went out
	"server ready",   // the server answered the agent
	"answered",       // the server answered a query from the host
}

// AnsweredMark is the line the control plane writes into the console log
// when the server of the new boot answered from the host.
const AnsweredMark = "==== crashrig: host query answered ===="

// stepOf maps a guest line's message to its step ("" for none).
var stepOf = map[string]string{
	"initramfs":                  "initramfs",
	"root mounted":               "root mounted",
	"rc.boot":                    "rc.boot",
	"boot complete":              "boot complete",
	"dcrts process started":      "agent started",
	"agent config":               "agent config",
	"data disk mounted":          "data mounted",
	"server started":             "server started",
	"server ready":               "server ready",
	"connected to control plane": "connected",
}

// Reset is one reset's timeline: each step's time since the reset was
// sent (absent: not seen).
type Reset struct {
	// Sent is the host time of the reset mark, since QEMU started.
	Sent time.Duration
	// At maps a step to its time since Sent.
	At map[string]time.Duration
}

var (
	hostPrefix = regexp.MustCompile(`^\[\s*([0-9]+\.[0-9]+)\] (.*)$`)
	bootMark   = regexp.MustCompile(`crashrig: (.+) uptime=([0-9]+\.[0-9]+)`)
	agentMsg   = regexp.MustCompile(`msg="?([^"=]+?)"? [a-z_]+=.*uptime=([0-9]+\.[0-9]+)`)
)

// Parse reads a console log and returns its resets in order. The boot
// before the first reset mark (QEMU's cold start) is not one.
func Parse(r io.Reader) ([]Reset, error) {
	var (
		out  []Reset
		cur  *Reset
		zero = time.Duration(-1) // host time of uptime 0, this boot
		seen = map[string]time.Duration{}
	)
	finish := func() {
		if cur == nil {
			return
		}
		cur.At["reset sent"] = 0
		if zero >= 0 {
			cur.At["uptime 0"] = zero - cur.Sent
			for step, up := range seen {
				cur.At[step] = zero + up - cur.Sent
			}
		}
		out = append(out, *cur)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := hostPrefix.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		host := seconds(m[1])
		line := m[2]
		if strings.Contains(line, ResetMark) {
			finish()
			cur = &Reset{Sent: host, At: map[string]time.Duration{}}
			zero, seen = -1, map[string]time.Duration{}
			continue
		}
		if cur == nil {
			continue
		}
		if strings.Contains(line, AnsweredMark) {
			if _, ok := cur.At["answered"]; !ok {
				cur.At["answered"] = host - cur.Sent
			}
			continue
		}
		var msg, up string
		if b := bootMark.FindStringSubmatch(line); b != nil {
			msg, up = b[1], b[2]
		} else if a := agentMsg.FindStringSubmatch(line); a != nil {
			msg, up = a[1], a[2]
		} else {
			continue
		}
		step, ok := stepOf[msg]
		if !ok {
			continue
		}
		u := seconds(up)
		if _, dup := seen[step]; dup {
			continue // a respawned agent: keep the first
		}
		seen[step] = u
		if z := host - u; zero < 0 || z < zero {
			zero = z
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read console log: %w", err)
	}
	finish()
	return out, nil
}

func seconds(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second))
}

// Medians returns, per step, the median time since Sent over the resets
// that reached it, and how many did.
func Medians(resets []Reset) (med map[string]time.Duration, n map[string]int) {
	med, n = map[string]time.Duration{}, map[string]int{}
	for _, step := range Steps {
		var ds []time.Duration
		for _, r := range resets {
			if d, ok := r.At[step]; ok {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			continue
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		med[step], n[step] = ds[len(ds)/2], len(ds)
	}
	return med, n
}

// WriteTable writes one row per reset and a median row: each step's time
// since the reset was sent, in seconds.
func WriteTable(w io.Writer, resets []Reset) {
	fmt.Fprintf(w, "%-6s", "reset")
	for _, s := range Steps {
		fmt.Fprintf(w, " %*s", max(len(s), 6), s)
	}
	fmt.Fprintln(w)
	row := func(name string, at map[string]time.Duration) {
		fmt.Fprintf(w, "%-6s", name)
		for _, s := range Steps {
			cell := "-"
			if d, ok := at[s]; ok {
				cell = fmt.Sprintf("%.2f", d.Seconds())
			}
			fmt.Fprintf(w, " %*s", max(len(s), 6), cell)
		}
		fmt.Fprintln(w)
	}
	for i, r := range resets {
		row(strconv.Itoa(i+1), r.At)
	}
	med, _ := Medians(resets)
	row("median", med)
}

// Intervals returns the median duration of each step after the one before
// it that both resets reached, in step order: what each step costs.
func Intervals(resets []Reset) []Interval {
	var out []Interval
	for i := 1; i < len(Steps); i++ {
		from, to := Steps[i-1], Steps[i]
		var ds []time.Duration
		for _, r := range resets {
			a, okA := r.At[from]
			b, okB := r.At[to]
			if okA && okB {
				ds = append(ds, b-a)
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		out = append(out, Interval{From: from, To: to, Median: ds[len(ds)/2], N: len(ds)})
	}
	return out
}

// Interval is the median time from one step to the next.
type Interval struct {
	From, To string
	Median   time.Duration
	N        int
}
