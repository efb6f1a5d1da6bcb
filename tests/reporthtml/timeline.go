package reporthtml

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/history"
)

// Timeline geometry, in SVG user units (CSS pixels at 100%).
const (
	tlWidth  = 1320.0
	tlGutter = 150.0 // lane labels
	tlRight  = 10.0
	tlAxis   = 22.0 // time axis on top
)

// axis maps times in [from, to] to x positions.
type axis struct{ from, to time.Time }

func (a axis) x(t time.Time) float64 {
	f := float64(t.Sub(a.from)) / float64(a.to.Sub(a.from))
	return tlGutter + math.Max(0, math.Min(1, f))*(tlWidth-tlGutter-tlRight)
}

// ticks draws the time axis, labelled in seconds since origin.
func (a axis) ticks(b *strings.Builder, origin time.Time, height float64) {
	step := niceStep(a.to.Sub(a.from).Seconds() / 12)
	start := math.Ceil(a.from.Sub(origin).Seconds()/step) * step
	for s := start; s <= a.to.Sub(origin).Seconds()+1e-9; s += step {
		x := a.x(origin.Add(time.Duration(s * float64(time.Second))))
		fmt.Fprintf(b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/><text class="tick" x="%.1f" y="14">%s</text>`,
			x, x, tlAxis-4, height, x, secondsLabel(s, step))
	}
}

// niceStep is the smallest 1, 2 or 5 times a power of ten that is at
// least least.
func niceStep(least float64) float64 {
	if least <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(least)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= least {
			return m * p
		}
	}
	return 10 * p
}

func secondsLabel(s, step float64) string {
	switch {
	case step >= 1:
		return fmt.Sprintf("%.0fs", s)
	case step >= 0.1:
		return fmt.Sprintf("%.1fs", s)
	}
	return fmt.Sprintf("%.3fs", s)
}

// outcomeClass is the CSS class of an outcome (ok, fail, info).
func outcomeClass(t history.Type) string { return string(t) }

// overviewSVG is the whole run, aggregated: per lane and time bin info or
// fail if at least a quarter of the bin's operations had that outcome,
// else ok, at an opacity that grows with the number of operations; crashes as bands, violating operations as markers,
// and the stretches the pages below show op by op outlined.
func (r *run) overviewSVG(o options, pages []span) string {
	const laneH = 12.0
	a := axis{r.t0, r.t1}
	height := tlAxis + float64(len(r.lanes))*laneH + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline overview" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" xmlns="http://www.w3.org/2000/svg">`, tlWidth, height, tlWidth, height)
	a.ticks(&b, r.t0, height-8)
	r.crashBands(&b, a, height-8, true)
	type cell struct{ ok, fail, info int }
	bins := o.bins * 2
	cells := make([][]cell, len(r.lanes))
	for i := range cells {
		cells[i] = make([]cell, bins)
	}
	maxN := 1
	for _, op := range r.ops {
		k := min(bins-1, max(0, int(float64(op.Invoke.Time.Sub(r.t0))/float64(r.t1.Sub(r.t0))*float64(bins))))
		c := &cells[r.laneOf[op.Process]][k]
		switch op.Type {
		case history.OK:
			c.ok++
		case history.Fail:
			c.fail++
		default:
			c.info++
		}
		maxN = max(maxN, c.ok+c.fail+c.info)
	}
	binW := (tlWidth - tlGutter - tlRight) / float64(bins)
	for li, l := range r.lanes {
		y := tlAxis + float64(li)*laneH
		fmt.Fprintf(&b, `<text class="lane" x="4" y="%.1f">%s</text>`, y+laneH-3, html.EscapeString(l.label()))
		// Adjacent bins that look the same are one rect: a long quiet
		// soak costs a few rects per lane.
		runStart, runKey := -1, ""
		flush := func(end int) {
			if runStart < 0 || runKey == "" {
				return
			}
			cls, level, _ := strings.Cut(runKey, "/")
			fmt.Fprintf(&b, `<rect class="%s l%s" x="%.1f" y="%.1f" width="%.1f" height="%.0f"/>`, cls, level, tlGutter+float64(runStart)*binW, y+1, float64(end-runStart)*binW, laneH-2)
		}
		for k, c := range cells[li] {
			key := ""
			if n := c.ok + c.fail + c.info; n > 0 {
				// The worst outcome if it is a real share of the bin (a
				// crash's info ops), else ok: the odd info op of a long
				// bin would paint a soak orange.
				cls := "ok"
				switch {
				case c.info > 0 && 4*c.info >= n:
					cls = "info"
				case c.fail > 0 && 4*c.fail >= n:
					cls = "fail"
				}
				key = fmt.Sprintf("%s/%d", cls, int(math.Ceil(4*float64(n)/float64(maxN))))
			}
			if key != runKey {
				flush(k)
				runStart, runKey = k, key
			}
		}
		flush(bins)
	}
	for _, id := range r.violating {
		if op, ok := r.op(id); ok {
			x := a.x(op.Invoke.Time)
			fmt.Fprintf(&b, `<a href="#op-%d"><line class="viol-mark" id="mark-op-%d" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"><title>violating op #%d</title></line></a>`, id, id, x, x, tlAxis-6, height-8, id)
		}
	}
	for i, p := range pages {
		from, to := r.pageRange(p)
		x0, x1 := a.x(from), a.x(to)
		fmt.Fprintf(&b, `<a href="#page-%d"><rect class="covered" x="%.1f" y="%.0f" width="%.1f" height="5"><title>page %d: every operation drawn</title></rect></a>`, i+1, x0, height-7, math.Max(1, x1-x0), i+1)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// crashBands draws the crashes that overlap a as shaded bands; the
// overview's bands carry the ids the violation section links to.
func (r *run) crashBands(b *strings.Builder, a axis, height float64, ids bool) {
	lastLabel := math.Inf(-1)
	for _, c := range r.crashes {
		if c.to.Before(a.from) || c.from.After(a.to) {
			continue
		}
		x0, x1 := a.x(c.from), a.x(c.to)
		id := ""
		if ids {
			id = fmt.Sprintf(` id="crash-%d"`, c.n)
		}
		cls := "crash"
		if !c.recovered {
			cls += " dead"
		}
		fmt.Fprintf(b, `<rect class="%s"%s data-crash="%d" x="%.1f" y="%.0f" width="%.1f" height="%.0f"><title>%s</title></rect>`,
			cls, id, c.n, x0, tlAxis-6, math.Max(2, x1-x0), height-tlAxis+6, html.EscapeString(c.describe()))
		if x0-lastLabel > 30 { // labels of dense crashes would overlap
			fmt.Fprintf(b, `<text class="crash-label" x="%.1f" y="%.0f">#%d</text>`, x0+2, height-1, c.n)
			lastLabel = x0
		}
	}
	for _, f := range r.faults {
		from, to := f.Invoke.Time, r.end(f)
		if to.Before(a.from) || from.After(a.to) {
			continue
		}
		x0, x1 := a.x(from), a.x(to)
		fmt.Fprintf(b, `<rect class="fault" x="%.1f" y="%.0f" width="%.1f" height="%.0f"><title>%s</title></rect>`,
			x0, tlAxis-6, math.Max(2, x1-x0), height-tlAxis+6, html.EscapeString(fmt.Sprintf("fault %s %s: %s", f.F, valueText(f.Invoke.Value, 120), f.Type)))
	}
}

// pageRange is the time range a page of operations covers.
func (r *run) pageRange(p span) (time.Time, time.Time) {
	from, to := r.ops[p.from].Invoke.Time, r.ops[p.from].Invoke.Time
	for _, op := range r.ops[p.from:p.to] {
		if op.Complete != nil && op.Complete.Time.After(to) {
			to = op.Complete.Time
		}
		if op.Invoke.Time.After(to) {
			to = op.Invoke.Time
		}
	}
	if !to.After(from) {
		to = from.Add(time.Millisecond)
	}
	// A little room on the right for the last bars.
	return from, to.Add(to.Sub(from) / 100)
}

// pageSVG draws every operation of a page as a bar from invoke to
// completion, coloured by outcome; operations that never completed run to
// the page's end, dashed. Violating operations carry the id op-<index>.
func (r *run) pageSVG(p span) string {
	const laneH, barH = 16.0, 10.0
	from, to := r.pageRange(p)
	a := axis{from, to}
	height := tlAxis + float64(len(r.lanes))*laneH + 12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" xmlns="http://www.w3.org/2000/svg">`, tlWidth, height, tlWidth, height)
	for li, l := range r.lanes {
		y := tlAxis + float64(li)*laneH
		if li%2 == 1 {
			fmt.Fprintf(&b, `<rect class="stripe" x="0" y="%.1f" width="%.0f" height="%.0f"/>`, y, tlWidth, laneH)
		}
		fmt.Fprintf(&b, `<text class="lane" x="4" y="%.1f">%s</text>`, y+laneH-4, html.EscapeString(l.label()))
	}
	a.ticks(&b, r.t0, height-12)
	r.crashBands(&b, a, height-12, false)
	for _, c := range r.checks {
		if c.at.Before(from) || c.at.After(to) {
			continue
		}
		cls := "check"
		if !c.OK {
			cls += " bad"
		}
		x := a.x(c.at)
		fmt.Fprintf(&b, `<line class="%s" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"><title>check %s: %s</title></line>`, cls, x, x, tlAxis-6, height-12, checkWhen(c), okText(c.OK))
	}
	var viol strings.Builder // drawn last, on top
	for _, op := range r.ops[p.from:p.to] {
		y := tlAxis + float64(r.laneOf[op.Process])*laneH + (laneH-barH)/2
		x0 := a.x(op.Invoke.Time)
		end, cls := to, outcomeClass(op.Type)
		if op.Complete != nil {
			end = op.Complete.Time
		} else {
			cls += " open"
		}
		w := math.Max(1, a.x(end)-x0)
		title := fmt.Sprintf("#%d %s %s: %s", op.Invoke.Index, op.F, valueText(op.Invoke.Value, 48), op.Type)
		if op.Complete != nil {
			title += " in " + op.Complete.Time.Sub(op.Invoke.Time).Round(10*time.Microsecond).String()
		}
		if op.Error != "" {
			title += ": " + truncate(op.Error, 80)
		}
		if r.isViol[op.Invoke.Index] {
			// On top, wider than a pixel, with a line across all lanes.
			fmt.Fprintf(&viol, `<line class="viol-mark" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/>`, x0, x0, tlAxis-6, height-12)
			fmt.Fprintf(&viol, `<rect class="%s viol" id="op-%d" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>VIOLATION %s</title></rect>`,
				cls, op.Invoke.Index, x0-2, y-2, w+4, barH+4, html.EscapeString(title))
			continue
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>%s</title></rect>`, cls, x0, y, w, barH, html.EscapeString(title))
	}
	b.WriteString(viol.String())
	b.WriteString(`</svg>`)
	return b.String()
}

func checkWhen(c checkEntry) string {
	if c.Cycle == 0 {
		return "at the end"
	}
	return fmt.Sprintf("after reset #%d", c.Cycle)
}

func okText(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
