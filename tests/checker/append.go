package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// CheckAppend checks list-append transactions as Elle does (Kingsbury and
// Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
// Observations", VLDB 2020):
//
//   - each key's version order is its longest read (the final state read
//     back counts as a read); every other read must be a prefix of it
//     (else incompatible-order);
//   - reads must not hold values nobody appended to that key (garbage-read),
//     a value twice (duplicate-append), values of failed transactions
//     (G1a) or a value its writer followed with another append to the key
//     (G1b), and a transaction's reads must agree with its own earlier
//     reads and appends (internal);
//   - an acknowledged append, or one an observation proved committed,
//     must be in the final state (lost-append: a durability finding);
//   - an info transaction (outcome unknown) committed if any of its
//     appends was ever read, else it is treated as never committed;
//   - committed transactions form a graph with ww, wr and rw dependency
//     edges from the version orders, plus per-process and real-time order
//     edges; each strongly connected component yields its shortest cycle
//     found, classified G0 (ww only), G1c (ww+wr), G-single (one rw) or
//     G2-item (more rw), with -process/-realtime when the cycle needs an
//     order edge.
//
// Anomalies the state's isolation level (model.AppendState.Isolation)
// forbids are problems; allowed ones are counted in Stats. Each anomaly is
// explained in Result.Files (a text file, and a Graphviz file per cycle).
func CheckAppend(h history.History, workload string, st model.AppendState) Result {
	b := newBuilder(workload, h)
	level, err := model.LookupIsolation(cmpOr(st.Isolation, model.DefaultIsolation))
	if err != nil {
		b.problem("state", "%v", err)
		return b.res
	}
	a, err := newAppendAnalysis(h, workload, b)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	if setup, ok := setupOp(h.OpsOf(workload), model.FSetupTable); ok && setup.Type == history.OK && st.Missing {
		b.problem("missing-table", "the append table is gone, but its CREATE TABLE was acknowledged: %s", b.ctx.Op(setup))
	}
	if !st.Missing {
		a.addFinal(st.Lists)
	}
	a.analyse()
	for i, an := range a.anomalies {
		name := fmt.Sprintf("append-%03d-%s", i+1, an.class)
		if i < maxAnomalyFiles {
			if b.res.Files == nil {
				b.res.Files = map[string][]byte{}
			}
			b.res.Files[name+".txt"] = []byte(an.text)
			if an.dot != "" {
				b.res.Files[name+".dot"] = []byte(an.dot)
			}
		}
		if !level.Forbidden(an.class) {
			b.res.Stats["allowed-"+string(an.class)]++
			continue
		}
		msg := an.summary
		if i < maxAnomalyFiles {
			msg += " (explained in " + name + ".txt)"
		}
		b.problem(string(an.class), "%s", msg)
	}
	return b.res
}

// maxAnomalyFiles bounds the explanation files one check writes.
const maxAnomalyFiles = 50

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Edge kinds of the transaction graph.
type edgeKind uint8

const (
	ww edgeKind = 1 << iota
	wr
	rw
	process
	realtime
)

var edgeNames = map[edgeKind]string{ww: "ww", wr: "wr", rw: "rw", process: "process", realtime: "realtime"}

func (k edgeKind) String() string { return edgeNames[k] }

// edge is a dependency of transaction to on from; key and the values say
// why (for explanations).
type edge struct {
	from, to int32
	kind     edgeKind
	key      int64
	// v is the value that links the two: the earlier version (ww), the
	// version read (wr), or the version the reader missed (rw).
	v int64
	// read is the index of the read (rw, wr) in the reader's micro-ops.
	read int
}

// txn is one append-workload transaction.
type txn struct {
	op  *history.Op
	ops []model.MicroOp
	// committed: ok, or info with an append someone read.
	committed bool
	node      int32 // graph node, -1 if not committed
	// appends lists the values the transaction appended to each key, in
	// order.
	appends map[int64][]int64
}

// read is a list some transaction (or the final state, t == nil) read.
type read struct {
	t    *txn
	i    int // micro-op index
	k    int64
	list []int64
}

// writer is the transaction that appended a value.
type writer struct{ t *txn }

type anomaly struct {
	class   model.Anomaly
	summary string
	text    string
	dot     string
}

type appendAnalysis struct {
	b      *builder
	txns   []*txn
	nodes  []*txn
	writes map[[2]int64]writer
	reads  []read
	// final is the final state's lists (nil when not read).
	final     map[int64][]int64
	orders    map[int64][]int64
	badRead   map[*read]bool
	adj       [][]edge
	anomalies []anomaly
}

func newAppendAnalysis(h history.History, workload string, b *builder) (*appendAnalysis, error) {
	a := &appendAnalysis{b: b, writes: map[[2]int64]writer{}, orders: map[int64][]int64{}, badRead: map[*read]bool{}}
	ops := h.OpsWhere(func(e history.Entry) bool { return e.Workload == workload && e.F == model.FTxn })
	for i := range ops {
		op := &ops[i]
		raw := op.Invoke.Value
		if op.Type == history.OK {
			raw = op.Value
		}
		t := &txn{op: op, node: -1, appends: map[int64][]int64{}}
		if err := json.Unmarshal(raw, &t.ops); err != nil {
			return nil, fmt.Errorf("op #%d: decode transaction %s: %w", op.Invoke.Index, raw, err)
		}
		b.res.Stats["txn-"+string(op.Type)]++
		t.committed = op.Type == history.OK || b.resolved[op.Invoke.Index]
		for j, m := range t.ops {
			switch {
			case m.F == model.MicroAppend:
				if w, dup := a.writes[[2]int64{m.K, m.V}]; dup {
					// Values are unique per run: the history is not one
					// this workload wrote.
					return nil, fmt.Errorf("op #%d appends %d to key %d, as op #%d did", op.Invoke.Index, m.V, m.K, w.t.op.Invoke.Index)
				}
				a.writes[[2]int64{m.K, m.V}] = writer{t}
				t.appends[m.K] = append(t.appends[m.K], m.V)
				if op.Type == history.OK {
					b.res.Stats["append-ok"]++
				}
			case m.F == model.MicroRead && m.Read && op.Type == history.OK:
				a.reads = append(a.reads, read{t: t, i: j, k: m.K, list: m.List})
			}
		}
		a.txns = append(a.txns, t)
	}
	return a, nil
}

func (a *appendAnalysis) addFinal(lists map[int64][]int64) {
	a.final = lists
	if a.final == nil {
		a.final = map[int64][]int64{}
	}
	for _, k := range sortedKeys(lists) {
		a.reads = append(a.reads, read{k: k, list: lists[k]})
	}
}

func (a *appendAnalysis) analyse() {
	a.checkReads()
	a.decideInfo()
	a.checkInternal()
	a.versionOrders()
	a.checkLost()
	a.buildGraph()
	a.findCycles()
}

func (a *appendAnalysis) add(class model.Anomaly, summary, text string) {
	a.anomalies = append(a.anomalies, anomaly{class: class, summary: summary, text: summary + "\n\n" + text})
}

// reader names who read: a transaction or the final state.
func (a *appendAnalysis) reader(r *read) string {
	if r.t == nil {
		return "the state read back after the run"
	}
	return a.txnName(r.t)
}

func (a *appendAnalysis) txnName(t *txn) string {
	return fmt.Sprintf("op #%d (client %d)", t.op.Invoke.Index, t.op.Process)
}

// describe is a transaction in full: outcome, times, micro-ops.
func (a *appendAnalysis) describe(t *txn) string {
	parts := make([]string, len(t.ops))
	for i, m := range t.ops {
		parts[i] = m.String()
	}
	return fmt.Sprintf("%s: %s", a.b.ctx.Op(*t.op), strings.Join(parts, ", "))
}

// checkReads finds garbage, duplicate, aborted and intermediate reads,
// and decides info transactions whose appends were read.
func (a *appendAnalysis) checkReads() {
	for ri := range a.reads {
		r := &a.reads[ri]
		seen := make(map[int64]bool, len(r.list))
		for _, v := range r.list {
			if seen[v] {
				a.badRead[r] = true
				a.add(model.DuplicateAppend, fmt.Sprintf("%s read key %d = %v: value %d twice", a.reader(r), r.k, r.list, v), a.readerText(r))
				break
			}
			seen[v] = true
		}
		for _, v := range r.list {
			w, ok := a.writes[[2]int64{r.k, v}]
			switch {
			case !ok && a.badRead[r]:
				// One garbage-read (or duplicate) report per read.
			case !ok:
				a.badRead[r] = true
				a.add(model.GarbageRead, fmt.Sprintf("%s read key %d = %v: no transaction appended %d to key %d", a.reader(r), r.k, r.list, v, r.k), a.readerText(r))
			case w.t.op.Type == history.Fail && w.t != r.t:
				a.add(model.G1a, fmt.Sprintf("%s read key %d = %v, with value %d appended by a transaction that failed, %s", a.reader(r), r.k, r.list, v, a.txnName(w.t)),
					a.readerText(r)+"writer (failed): "+a.describe(w.t)+"\n")
			case w.t.op.Type == history.Info && !w.t.committed:
				w.t.committed = true
				if r.t == nil {
					// Only the snapshot proves it: later checks must hold
					// the database to it.
					a.b.resolve(w.t.op, true)
				}
			}
		}
		if n := len(r.list); n > 0 {
			v := r.list[n-1]
			if w, ok := a.writes[[2]int64{r.k, v}]; ok && w.t != r.t {
				if own := w.t.appends[r.k]; own[len(own)-1] != v {
					a.add(model.G1b, fmt.Sprintf("%s read key %d = %v, ending in %d, an intermediate value: its writer %s appended %d to key %d after it", a.reader(r), r.k, r.list, v, a.txnName(w.t), own[len(own)-1], r.k),
						a.readerText(r)+"writer: "+a.describe(w.t)+"\n")
				}
			}
		}
	}
}

func (a *appendAnalysis) readerText(r *read) string {
	if r.t == nil {
		return fmt.Sprintf("reader: the state read back after the run, key %d = %v\n", r.k, r.list)
	}
	return "reader: " + a.describe(r.t) + "\n"
}

// decideInfo counts info transactions by what the reads decided.
func (a *appendAnalysis) decideInfo() {
	for _, t := range a.txns {
		if t.op.Type == history.Info && t.committed {
			a.b.res.Stats["txn-info-committed"]++
		}
	}
}

// checkInternal compares each transaction's reads with its own earlier
// reads and appends of the same key.
func (a *appendAnalysis) checkInternal() {
	for _, t := range a.txns {
		if t.op.Type != history.OK {
			continue
		}
		// read is the key's list as the transaction last read it (if
		// known); own are its appends to the key since then.
		type keyState struct {
			known bool
			read  []int64
			own   []int64
		}
		ks := map[int64]*keyState{}
		for _, m := range t.ops {
			s := ks[m.K]
			if s == nil {
				s = &keyState{}
				ks[m.K] = s
			}
			if m.F == model.MicroAppend {
				s.own = append(s.own, m.V)
				continue
			}
			if !m.Read {
				continue
			}
			want := append(append([]int64(nil), s.read...), s.own...)
			switch {
			case !s.known && hasSuffix(m.List, s.own), s.known && slices.Equal(m.List, want):
			case s.known && slices.Equal(m.List[:min(len(s.read), len(m.List))], s.read) && isSubsequence(s.own, m.List[len(s.read):]):
				// What it read before is still there and its own appends
				// follow in order, but others' appends came in between.
				a.add(model.FuzzyRead, fmt.Sprintf("%s read key %d = %v, but its earlier read and own appends of key %d say %v: it saw other transactions' appends between its reads", a.txnName(t), m.K, m.List, m.K, want), "transaction: "+a.describe(t)+"\n")
			default:
				w := fmt.Sprintf("%v", want)
				if !s.known {
					w = fmt.Sprintf("a list ending in its own appends %v", s.own)
				}
				a.add(model.Internal, fmt.Sprintf("%s read key %d = %v, but its own earlier reads and appends of key %d say %s", a.txnName(t), m.K, m.List, m.K, w), "transaction: "+a.describe(t)+"\n")
			}
			s.known, s.read, s.own = true, append([]int64(nil), m.List...), nil
		}
	}
}

// hasSuffix reports whether list ends with suffix.
func hasSuffix(list, suffix []int64) bool {
	return len(list) >= len(suffix) && slices.Equal(list[len(list)-len(suffix):], suffix)
}

// isSubsequence reports whether sub appears in list in order (not
// necessarily adjacent).
func isSubsequence(sub, list []int64) bool {
	i := 0
	for _, v := range list {
		if i < len(sub) && v == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

// versionOrders takes each key's longest read as its order and reports
// reads that are not a prefix of it.
func (a *appendAnalysis) versionOrders() {
	byKey := map[int64][]*read{}
	for i := range a.reads {
		r := &a.reads[i]
		if !a.badRead[r] {
			byKey[r.k] = append(byKey[r.k], r)
		}
	}
	for _, k := range sortedKeys(byKey) {
		rs := byKey[k]
		longest := rs[0]
		for _, r := range rs[1:] {
			// On a tie the state read back wins: it is what stays.
			if len(r.list) > len(longest.list) || (len(r.list) == len(longest.list) && r.t == nil) {
				longest = r
			}
		}
		a.orders[k] = longest.list
		for _, r := range rs {
			if !isPrefix(r.list, longest.list) {
				a.badRead[r] = true
				a.add(model.IncompatibleOrder, fmt.Sprintf("%s read key %d = %v, which is not a prefix of %v, read by %s", a.reader(r), k, r.list, longest.list, a.reader(longest)),
					a.readerText(r)+"longest "+a.readerText(longest))
			}
		}
	}
}

func isPrefix(p, l []int64) bool { return len(p) <= len(l) && slices.Equal(p, l[:len(p)]) }

// checkLost reports committed appends missing from the final state.
func (a *appendAnalysis) checkLost() {
	if a.final == nil {
		return
	}
	present := map[[2]int64]bool{}
	for k, l := range a.final {
		for _, v := range l {
			present[[2]int64{k, v}] = true
		}
	}
	for _, t := range a.txns {
		if !t.committed {
			continue
		}
		for _, k := range sortedKeys(t.appends) {
			for _, v := range t.appends[k] {
				if present[[2]int64{k, v}] {
					continue
				}
				why := "was acknowledged"
				if t.op.Type != history.OK {
					why = "had an unknown outcome, but was read, so it committed"
				}
				a.add(model.LostAppend, fmt.Sprintf("key %d = %v after the run lacks %d, whose append %s: %s", k, a.final[k], v, why, a.txnName(t)),
					"transaction: "+a.describe(t)+"\n"+a.seenBy(k, v))
			}
		}
	}
}

// seenBy lists the reads that saw value v of key k.
func (a *appendAnalysis) seenBy(k, v int64) string {
	var b strings.Builder
	for i := range a.reads {
		r := &a.reads[i]
		if r.k == k && r.t != nil && slices.Contains(r.list, v) {
			fmt.Fprintf(&b, "seen by: %s\n", a.describe(r.t))
		}
	}
	return b.String()
}
