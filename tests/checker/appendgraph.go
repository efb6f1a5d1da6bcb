package checker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// buildGraph makes a node of every committed transaction and adds the
// dependency and order edges between them.
func (a *appendAnalysis) buildGraph() {
	for _, t := range a.txns {
		if t.committed {
			t.node = int32(len(a.nodes))
			a.nodes = append(a.nodes, t)
		}
	}
	a.adj = make([][]edge, len(a.nodes))
	node := func(k, v int64) (int32, bool) {
		w, ok := a.writes[[2]int64{k, v}]
		if !ok || w.t.node < 0 {
			return -1, false
		}
		return w.t.node, true
	}
	// ww: consecutive versions of each key's order.
	for _, k := range sortedKeys(a.orders) {
		order := a.orders[k]
		for i := 1; i < len(order); i++ {
			from, ok1 := node(k, order[i-1])
			to, ok2 := node(k, order[i])
			if ok1 && ok2 && from != to {
				a.link(edge{from: from, to: to, kind: ww, key: k, v: order[i-1]})
			}
		}
	}
	// wr and rw: what each read saw, and the version right after it.
	for i := range a.reads {
		r := &a.reads[i]
		if r.t == nil || r.t.node < 0 || a.badRead[r] {
			continue
		}
		order := a.orders[r.k]
		if n := len(r.list); n > 0 {
			if from, ok := node(r.k, r.list[n-1]); ok && from != r.t.node {
				a.link(edge{from: from, to: r.t.node, kind: wr, key: r.k, v: r.list[n-1], read: r.i})
			}
		}
		if len(r.list) < len(order) {
			// After an intermediate read (G1b) the next version is the
			// same writer's: that is the G1b, not also a cycle.
			intermediate := false
			if len(r.list) > 0 {
				w1, ok1 := a.writes[[2]int64{r.k, r.list[len(r.list)-1]}]
				w2, ok2 := a.writes[[2]int64{r.k, order[len(r.list)]}]
				intermediate = ok1 && ok2 && w1.t == w2.t
			}
			if to, ok := node(r.k, order[len(r.list)]); ok && to != r.t.node && !intermediate {
				a.link(edge{from: r.t.node, to: to, kind: rw, key: r.k, v: order[len(r.list)], read: r.i})
			}
		}
	}
	a.orderEdges()
}

func (a *appendAnalysis) link(e edge) { a.adj[e.from] = append(a.adj[e.from], e) }

// orderEdges adds per-process edges (a client's next transaction after
// its acknowledged one) and real-time edges (a transaction invoked after
// another was acknowledged), the latter transitively reduced: each links
// only from the acknowledged transactions no later acknowledged one
// follows. Info transactions have no outgoing order edges: their commit
// may land any time before the server dies.
func (a *appendAnalysis) orderEdges() {
	last := map[int]int32{}
	type event struct {
		idx      int64
		t        *txn
		complete bool
	}
	var events []event
	for _, t := range a.nodes {
		if prev, ok := last[t.op.Process]; ok {
			a.link(edge{from: prev, to: t.node, kind: process})
		}
		if t.op.Type == history.OK {
			last[t.op.Process] = t.node
			events = append(events, event{t.op.Complete.Index, t, true})
		}
		events = append(events, event{t.op.Invoke.Index, t, false})
	}
	sort.Slice(events, func(i, j int) bool { return events[i].idx < events[j].idx })
	frontier := map[int32]bool{}
	preds := map[int32][]int32{}
	for _, ev := range events {
		n := ev.t.node
		if !ev.complete {
			for p := range frontier {
				a.link(edge{from: p, to: n, kind: realtime})
				preds[n] = append(preds[n], p)
			}
			continue
		}
		for _, p := range preds[n] {
			delete(frontier, p)
		}
		delete(preds, n)
		frontier[n] = true
	}
	for n := range a.adj {
		// Map iteration above: keep the adjacency deterministic.
		sort.SliceStable(a.adj[n], func(i, j int) bool { return a.adj[n][i].to < a.adj[n][j].to })
	}
}

// sccs returns the strongly connected components of more than one node
// (Tarjan, iterative: histories have 10^5 transactions).
func (a *appendAnalysis) sccs() [][]int32 {
	n := len(a.adj)
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var (
		stack []int32
		out   [][]int32
		next  int32
	)
	type frame struct {
		v int32
		e int
	}
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{int32(root), 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.e < len(a.adj[f.v]) {
				w := a.adj[f.v][f.e].to
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			var comp []int32
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				out = append(out, comp)
			}
		}
	}
	return out
}

// cycleSearch is one attempt to find a cycle: seed edges of the seed
// kinds, closed by a shortest path over the path kinds.
type cycleSearch struct{ seed, path edgeKind }

// cycleSearches, in order: the first that finds a cycle in a component
// names it. Dependency-only cycles come first, then those that need a
// process edge, then a real-time edge.
var cycleSearches = func() []cycleSearch {
	var out []cycleSearch
	for _, order := range []edgeKind{0, process, process | realtime} {
		out = append(out,
			cycleSearch{ww | order, ww | order},   // G0
			cycleSearch{wr, ww | wr | order},      // G1c
			cycleSearch{rw, ww | wr | order},      // G-single
			cycleSearch{rw, ww | wr | rw | order}, // G2-item
		)
	}
	return out
}()

// maxSeeds bounds the seed edges tried per search in one component: a
// badly broken server can make components of thousands of transactions.
const maxSeeds = 256

func (a *appendAnalysis) findCycles() {
	for _, comp := range a.sccs() {
		in := make(map[int32]bool, len(comp))
		for _, v := range comp {
			in[v] = true
		}
		nodes := sortedNodes(comp)
		var best []edge
		for _, s := range cycleSearches {
			tried := 0
			for _, v := range nodes {
				for _, e := range a.adj[v] {
					if e.kind&s.seed == 0 || !in[e.to] || tried >= maxSeeds {
						continue
					}
					tried++
					p := a.shortestPath(e.to, e.from, s.path, in)
					if p != nil && (best == nil || len(p)+1 < len(best)) {
						best = append([]edge{e}, p...)
					}
				}
			}
			if best != nil {
				break
			}
		}
		if best != nil {
			a.addCycle(best)
		}
	}
}

func sortedNodes(c []int32) []int32 {
	out := append([]int32(nil), c...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// shortestPath is a BFS from src to dst over edges of the given kinds
// inside the component; nil if there is none. src == dst is the empty
// path.
func (a *appendAnalysis) shortestPath(src, dst int32, kinds edgeKind, in map[int32]bool) []edge {
	if src == dst {
		return []edge{}
	}
	via := map[int32]edge{src: {}}
	queue := []int32{src}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range a.adj[v] {
			if e.kind&kinds == 0 || !in[e.to] {
				continue
			}
			if _, seen := via[e.to]; seen {
				continue
			}
			via[e.to] = e
			if e.to == dst {
				var p []edge
				for w := dst; w != src; w = via[w].from {
					p = append(p, via[w])
				}
				for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
					p[i], p[j] = p[j], p[i]
				}
				return p
			}
			queue = append(queue, e.to)
		}
	}
	return nil
}

// maxCycleShown bounds the transactions a cycle's summary names.
const maxCycleShown = 10

// classify names a cycle by its edges.
func classify(cycle []edge) model.Anomaly {
	var nwr, nrw int
	var order edgeKind
	for _, e := range cycle {
		switch e.kind {
		case wr:
			nwr++
		case rw:
			nrw++
		case process, realtime:
			order |= e.kind
		}
	}
	base := model.G0
	switch {
	case nrw > 1:
		base = model.G2Item
	case nrw == 1:
		base = model.GSingle
	case nwr > 0:
		base = model.G1c
	}
	switch {
	case order&realtime != 0:
		return base + model.SuffixRealtime
	case order&process != 0:
		return base + model.SuffixProcess
	}
	return base
}

func (a *appendAnalysis) addCycle(cycle []edge) {
	// Start at the lowest-numbered transaction, so a cycle reads the same
	// whichever edge found it.
	first := 0
	for i, e := range cycle {
		if e.from < cycle[first].from {
			first = i
		}
	}
	cycle = append(cycle[first:len(cycle):len(cycle)], cycle[:first]...)
	class := classify(cycle)
	// The summary names at most maxCycleShown transactions (and kinds);
	// the explanation file has them all.
	names, kinds := make([]string, 0, len(cycle)), make([]string, 0, len(cycle))
	for i, e := range cycle {
		if i == maxCycleShown && len(cycle) > maxCycleShown+1 {
			names = append(names, "...")
			kinds = append(kinds, "...")
			e = cycle[len(cycle)-1]
			names = append(names, fmt.Sprintf("T%d", e.from))
			kinds = append(kinds, e.kind.String())
			break
		}
		names = append(names, fmt.Sprintf("T%d", e.from))
		kinds = append(kinds, e.kind.String())
	}
	summary := fmt.Sprintf("cycle %s -> T%d over %s edges: %s", strings.Join(names, " -> "), cycle[0].from, strings.Join(kinds, ", "), classDoc[baseClass(class)])
	if len(cycle) > maxCycleShown+1 {
		summary = fmt.Sprintf("cycle of %d transactions %s", len(cycle), strings.TrimPrefix(summary, "cycle "))
	}
	var b strings.Builder
	b.WriteString("transactions:\n")
	for _, e := range cycle {
		fmt.Fprintf(&b, "  T%d = %s\n", e.from, a.describe(a.nodes[e.from]))
	}
	b.WriteString("edges (each says why the first must come before the second):\n")
	for _, e := range cycle {
		fmt.Fprintf(&b, "  T%d -%s-> T%d: %s\n", e.from, e.kind, e.to, a.why(e))
	}
	a.anomalies = append(a.anomalies, anomaly{class: class, summary: summary, text: summary + "\n\n" + b.String(), dot: a.dot(class, cycle)})
}

func baseClass(c model.Anomaly) model.Anomaly {
	s := strings.TrimSuffix(strings.TrimSuffix(string(c), model.SuffixProcess), model.SuffixRealtime)
	return model.Anomaly(s)
}

// classDoc says what each cycle class means, for the report.
var classDoc = map[model.Anomaly]string{
	model.G0:      "G0 (write cycle): the transactions' appends interleave in an order no serial execution gives",
	model.G1c:     "G1c (circular information flow): each transaction saw or overwrote another's writes in a cycle",
	model.GSingle: "G-single (read skew / lost update): one transaction missed a write that, by the other edges, preceded it",
	model.G2Item:  "G2-item (write skew): transactions each missed another's writes",
}

// why explains one edge.
func (a *appendAnalysis) why(e edge) string {
	from, to := a.nodes[e.from], a.nodes[e.to]
	switch e.kind {
	case ww:
		return fmt.Sprintf("T%d appended %d to key %d, and T%d appended the next value in key %d's order %v", e.from, e.v, e.key, e.to, e.key, a.orders[e.key])
	case wr:
		return fmt.Sprintf("T%d read key %d = %v, whose last value %d T%d appended", e.to, e.key, to.ops[e.read].List, e.v, e.from)
	case rw:
		return fmt.Sprintf("T%d read key %d = %v, which lacks %d, the next value in key %d's order %v, appended by T%d", e.from, e.key, from.ops[e.read].List, e.v, e.key, a.orders[e.key], e.to)
	case process:
		return fmt.Sprintf("both ran on client %d, and T%d was invoked after T%d was acknowledged", from.op.Process, e.to, e.from)
	default:
		return fmt.Sprintf("T%d was acknowledged at %s, before T%d was invoked at %s", e.from, from.op.Complete.Time.Format(clock), e.to, to.op.Invoke.Time.Format(clock))
	}
}

// dot renders a cycle for Graphviz.
func (a *appendAnalysis) dot(class model.Anomaly, cycle []edge) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n", string(class))
	for _, e := range cycle {
		t := a.nodes[e.from]
		parts := make([]string, len(t.ops))
		for i, m := range t.ops {
			parts[i] = m.String()
		}
		fmt.Fprintf(&b, "  T%d [label=%q];\n", e.from, fmt.Sprintf("T%d op #%d client %d\n%s", e.from, t.op.Invoke.Index, t.op.Process, strings.Join(parts, "\n")))
	}
	for _, e := range cycle {
		label := e.kind.String()
		if e.kind&(ww|wr|rw) != 0 {
			label += fmt.Sprintf(" k%d v%d", e.key, e.v)
		}
		fmt.Fprintf(&b, "  T%d -> T%d [label=%q];\n", e.from, e.to, label)
	}
	b.WriteString("}\n")
	return b.String()
}
