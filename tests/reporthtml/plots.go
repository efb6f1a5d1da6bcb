package reporthtml

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/crashrig/crashrig/tests/history"
)

// Plot colours, the same as the timeline's (page.go's CSS).
var (
	okColor    = color.NRGBA{0x43, 0xa0, 0x47, 0xff}
	failColor  = color.NRGBA{0xe5, 0x39, 0x35, 0xff}
	infoColor  = color.NRGBA{0xfb, 0x8c, 0x00, 0xff}
	bandColor  = color.NRGBA{0x7e, 0x57, 0xc2, 0x38}
	p50Color   = color.NRGBA{0x1e, 0x88, 0xe5, 0xff}
	p99Color   = color.NRGBA{0x8e, 0x24, 0xaa, 0xff}
	agentColor = color.NRGBA{0x6d, 0x4c, 0x41, 0xff}
)

// workloadPlots are one workload's throughput and latency plots.
type workloadPlots struct {
	Workload            string
	Throughput, Latency string // inline SVG
}

// series is a named line of a plot.
type series struct {
	name string
	xys  plotter.XYs
	clr  color.Color
}

// timeBins returns the number of plot bins for the run and their width in
// seconds: about one bin per 100 ms, at most o.bins.
func (r *run) timeBins(o options) (int, float64) {
	d := r.t1.Sub(r.t0)
	n := min(o.bins, max(10, int(d/(100*time.Millisecond))))
	return n, d.Seconds() / float64(n)
}

// plotsFor renders throughput (completions per second by outcome) and
// latency quantiles (p50, p99 of acknowledged operations, by completion
// time) for every workload, with the crashes as bands.
func (r *run) plotsFor(o options) ([]workloadPlots, error) {
	nb, width := r.timeBins(o)
	type bin struct {
		ok, fail, info int
		lat            []float64 // ms, acknowledged ops
	}
	byWorkload := map[string][]bin{}
	for _, w := range r.workloads {
		byWorkload[w] = make([]bin, nb)
	}
	for _, op := range r.ops {
		bins, ok := byWorkload[op.Workload]
		if !ok || op.Process < 0 || op.Complete == nil {
			continue
		}
		k := min(nb-1, max(0, int(op.Complete.Time.Sub(r.t0).Seconds()/width)))
		switch op.Type {
		case history.OK:
			bins[k].ok++
			bins[k].lat = append(bins[k].lat, float64(op.Complete.Time.Sub(op.Invoke.Time))/float64(time.Millisecond))
		case history.Fail:
			bins[k].fail++
		default:
			bins[k].info++
		}
	}
	var out []workloadPlots
	for _, w := range r.workloads {
		bins := byWorkload[w]
		okS, failS, infoS := make(plotter.XYs, nb), make(plotter.XYs, nb), make(plotter.XYs, nb)
		var p50, p99 plotter.XYs
		for k, b := range bins {
			x := (float64(k) + 0.5) * width
			okS[k] = plotter.XY{X: x, Y: float64(b.ok) / width}
			failS[k] = plotter.XY{X: x, Y: float64(b.fail) / width}
			infoS[k] = plotter.XY{X: x, Y: float64(b.info) / width}
			if len(b.lat) > 0 {
				slices.Sort(b.lat)
				p50 = append(p50, plotter.XY{X: x, Y: quantile(b.lat, 0.5)})
				p99 = append(p99, plotter.XY{X: x, Y: quantile(b.lat, 0.99)})
			} else {
				// No acknowledged op in the bin (a crash): a gap, not a
				// line across it.
				p50 = append(p50, plotter.XY{X: x, Y: math.NaN()})
				p99 = append(p99, plotter.XY{X: x, Y: math.NaN()})
			}
		}
		tp, err := r.timePlot(w+": throughput", "ops/s (by completion)", []series{{"ok", okS, okColor}, {"fail", failS, failColor}, {"info", infoS, infoColor}})
		if err != nil {
			return nil, fmt.Errorf("%s throughput plot: %w", w, err)
		}
		lp, err := r.timePlot(w+": latency of acknowledged ops", "ms", []series{{"p50", p50, p50Color}, {"p99", p99, p99Color}})
		if err != nil {
			return nil, fmt.Errorf("%s latency plot: %w", w, err)
		}
		out = append(out, workloadPlots{Workload: w, Throughput: tp, Latency: lp})
	}
	return out, nil
}

// segments splits xys at NaN values.
func segments(xys plotter.XYs) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for _, xy := range xys {
		if math.IsNaN(xy.Y) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, xy)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(len(sorted)-1, max(0, i))]
}

// timePlot draws lines over seconds since the run's start, with the
// crashes as shaded bands behind them.
func (r *run) timePlot(title, ylabel string, lines []series) (string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, r.t1.Sub(r.t0).Seconds()
	ymax := 0.0
	for _, s := range lines {
		for _, xy := range s.xys {
			if !math.IsNaN(xy.Y) {
				ymax = math.Max(ymax, xy.Y)
			}
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	// Headroom for the legend above the data.
	top := ymax * 1.4
	p.Y.Min, p.Y.Max = 0, top
	if err := r.addBands(p, top); err != nil {
		return "", err
	}
	for _, s := range lines {
		// NaN marks a gap: each stretch between gaps is its own line.
		first := true
		for _, seg := range segments(s.xys) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return "", fmt.Errorf("line %s: %w", s.name, err)
			}
			l.Color, l.Width = s.clr, vg.Points(1.2)
			p.Add(l)
			if first {
				p.Legend.Add(s.name, l)
				first = false
			}
		}
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return svgOf(p, 6.4*vg.Inch, 2.4*vg.Inch)
}

// addBands shades every crash, reset request to server ready.
func (r *run) addBands(p *plot.Plot, top float64) error {
	for i, c := range r.crashes {
		x0, x1 := c.from.Sub(r.t0).Seconds(), c.to.Sub(r.t0).Seconds()
		if x1-x0 < 1e-3 {
			x1 = x0 + 1e-3
		}
		band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: top}, {X: x0, Y: top}})
		if err != nil {
			return fmt.Errorf("crash band %d: %w", c.n, err)
		}
		band.Color, band.LineStyle.Width = bandColor, 0
		p.Add(band)
		if i == 0 {
			p.Legend.Add("crash (reset → ready)", band)
		}
	}
	return nil
}

// recoveryPlot draws, per crash, the times from the reset request until
// the process/VM was down, the agent answered (VM backends), the server
// answered SQL, and the recovery time the server itself reported.
func (r *run) recoveryPlot() (string, error) {
	if len(r.crashes) == 0 {
		return "", nil
	}
	var down, agent, ready, own plotter.XYs
	for _, c := range r.crashes {
		if !c.hasReport {
			continue
		}
		x := float64(c.n)
		down = append(down, plotter.XY{X: x, Y: c.cr.Down.Seconds()})
		if c.cr.AgentBack > 0 {
			agent = append(agent, plotter.XY{X: x, Y: c.cr.AgentBack.Seconds()})
		}
		if c.recovered {
			ready = append(ready, plotter.XY{X: x, Y: c.cr.Ready.Seconds()})
		}
		if c.cr.RecoveryReported || c.cr.ServerRecovery > 0 {
			own = append(own, plotter.XY{X: x, Y: c.cr.ServerRecovery.Seconds()})
		}
	}
	p := plot.New()
	p.Title.Text = "recovery time per crash"
	p.X.Label.Text = "reset #"
	p.Y.Label.Text = "seconds after the reset request"
	p.X.Min, p.X.Max = 0.5, float64(len(r.crashes))+0.5
	p.Y.Min = 0
	for _, s := range []series{{"ready (SQL answers)", ready, okColor}, {"agent back", agent, agentColor}, {"down", down, failColor}, {"server's own recovery", own, p50Color}} {
		if len(s.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return "", fmt.Errorf("recovery %s: %w", s.name, err)
		}
		l.Color, pts.Color = s.clr, s.clr
		pts.Radius = vg.Points(2)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return svgOf(p, 6.4*vg.Inch, 2.6*vg.Inch)
}

// svgOf renders p as an SVG element to inline in HTML (no XML prolog;
// fonts are named, not embedded, to keep the page small).
func svgOf(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render svg: %w", err)
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s, nil
}
