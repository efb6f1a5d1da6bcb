// Package resetlog reads a VM's console log (qemu.ConsoleLog: every line
// prefixed with the host time since QEMU started) and breaks every hard
// reset in it down into boot steps: where the time between QMP
// system_reset and the server answering goes.
//
// Three kinds of lines carry a step: the control plane's reset and
// answered marks, the guest's boot marks ("crashrig: STEP uptime=S",
// written by the initramfs and rc.boot) and the agent's log lines (slog
// text with uptime=S). Every step is placed by the host time of its line:
// the guest writes to its serial console synchronously, while the guest's
// own clock is not trusted (under TCG the kernel calibrates the TSC against
// an emulated timer, and a busy host makes guest uptime run up to a third
// fast or slow). Only "uptime 0", when the kernel started, comes from the
// guest clock: the first mark's host time minus its uptime, an estimate.
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
	"uptime 0",       // the guest kernel starts (estimated from the guest clock)
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
	"ready reported", // the control plane got the agent's ServerReady event
	"answered",       // the server answered a query from the host
}

// ReadyMark is the line the control plane writes into the console log when
// the agent's ServerReady event of the new boot arrived.
const ReadyMark = "==== crashrig: server ready reported ===="

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

// hostMarks maps the control plane's marks to their steps.
var hostMarks = map[string]string{ReadyMark: "ready reported", AnsweredMark: "answered"}

// markOf returns the control-plane mark line is, or "".
func markOf(line string) string {
	for m := range hostMarks {
		if strings.Contains(line, m) {
			return m
		}
	}
	return ""
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
		out []Reset
		cur *Reset
		// The last guest line that started a console line: its host and
		// guest times.
		anchorHost, anchorUp time.Duration
		haveAnchor           bool
	)
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
			if cur != nil {
				out = append(out, *cur)
			}
			cur = &Reset{Sent: host, At: map[string]time.Duration{"reset sent": 0}}
			haveAnchor = false
			continue
		}
		if cur == nil {
			continue
		}
		if hostStep, ok := hostMarks[markOf(line)]; ok {
			if _, seen := cur.At[hostStep]; !seen {
				cur.At[hostStep] = host - cur.Sent
			}
			continue
		}
		var msg, up string
		var at int // where the step's own text starts in the line
		if b := bootMark.FindStringSubmatchIndex(line); b != nil {
			msg, up, at = line[b[2]:b[3]], line[b[4]:b[5]], b[0]
		} else if a := agentMsg.FindStringSubmatchIndex(line); a != nil {
			msg, up, at = line[a[2]:a[3]], line[a[4]:a[5]], strings.LastIndex(line[:a[0]], "time=")
		} else {
			continue
		}
		u := seconds(up)
		if at > 0 && haveAnchor {
			// The line began with other output (getty's login prompt),
			// so its host time is that output's: place the step by the
			// guest clock from the last line of its own, never earlier
			// than the line's start.
			host = max(host, anchorHost+u-anchorUp)
		} else {
			anchorHost, anchorUp, haveAnchor = host, u, true
		}
		step, ok := stepOf[msg]
		if !ok {
			continue
		}
		if _, dup := cur.At[step]; dup {
			continue // a respawned agent: keep the first
		}
		cur.At[step] = host - cur.Sent
		if _, ok := cur.At["uptime 0"]; !ok {
			cur.At["uptime 0"] = host - u - cur.Sent
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read console log: %w", err)
	}
	if cur != nil {
		out = append(out, *cur)
	}
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

// Intervals returns the median cost of each step: its time after the
// step before it that the same reset reached, in step order.
func Intervals(resets []Reset) []Interval {
	type pair struct{ from, to string }
	costs := map[pair][]time.Duration{}
	for _, r := range resets {
		last := ""
		for _, step := range Steps {
			d, ok := r.At[step]
			if !ok {
				continue
			}
			if last != "" {
				p := pair{last, step}
				costs[p] = append(costs[p], d-r.At[last])
			}
			last = step
		}
	}
	var out []Interval
	for i, to := range Steps {
		for _, from := range Steps[:i] {
			ds := costs[pair{from, to}]
			if len(ds) == 0 {
				continue
			}
			slices.Sort(ds)
			out = append(out, Interval{From: from, To: to, Median: ds[len(ds)/2], N: len(ds)})
		}
	}
	return out
}

// Interval is the median time from one step to the next.
type Interval struct {
	From, To string
	Median   time.Duration
	N        int
}
