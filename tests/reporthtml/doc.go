// Package reporthtml renders a run directory as report.html: one
// self-contained page (inline CSS and SVG, no script, nothing fetched) that
// explains a run at a glance: the verdict and how to reproduce it, the
// violation with the operations and the crash behind it, a timeline with
// one lane per client and the crashes as shaded bands, throughput, latency
// and recovery plots (gonum.org/v1/plot, rendered to SVG), and the
// per-workload check summaries. Explanation files the checkers' messages
// name ("explained in NAME.txt", with a Graphviz NAME.svg) are inlined
// with the violation.
//
// Long soaks stay small: the timeline shows every operation only in pages
// around the violation (or the end of the run), and the whole run as an
// aggregated overview; plots are binned. A million-entry history gives a
// page of about 1.7 MB (BenchmarkRenderLongHistory).
//
// Files: model.go (what the page shows, computed from the report and the
// history), timeline.go (the SVG timelines), plots.go (gonum plots),
// page.go (the HTML page, Render, Write and Rewrite).
package reporthtml
