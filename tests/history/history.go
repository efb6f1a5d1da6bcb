package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// Type is the kind of a history entry.
type Type string

const (
	// Invoke: the client is about to send the operation.
	Invoke Type = "invoke"
	// OK: the server acknowledged the operation; it must be durable.
	OK Type = "ok"
	// Fail: the operation definitely did not take effect.
	Fail Type = "fail"
	// Info: the outcome is unknown; the operation may or may not have taken
	// effect (and may still take effect later).
	Info Type = "info"
)

// Reserved process ids. Workers use ids >= 0.
const (
	// NemesisProcess logs crashes and recoveries.
	NemesisProcess = -1
	// SetupProcess logs schema setup done before the workers start.
	SetupProcess = -2
	// CheckerProcess logs the checks run after each recovery.
	CheckerProcess = -3
)

// ProcessName names a process for people: setup, nemesis, checker or
// "client N".
func ProcessName(p int) string {
	switch p {
	case SetupProcess:
		return "setup"
	case NemesisProcess:
		return "nemesis"
	case CheckerProcess:
		return "checker"
	}
	return fmt.Sprintf("client %d", p)
}

// Nemesis function names.
const (
	FCrash = "crash" // invoke: reset requested; ok/info: server answering again
	FCheck = "check" // a state snapshot was taken and checked
	// FResolve records the outcomes of info operations that a check after
	// a crash settled by observation: a write seen in the database took
	// effect; one missing after the crash that ended it never will. Later
	// checks hold the database to those outcomes (what was observed must
	// stay).
	FResolve = "resolve"
	// FIOFaultStart: an I/O fault was injected (invoke: the fault asked
	// for; ok: what the agent did). FIOFaultEnd: it ended, by a clear or
	// by the crash that came during it.
	FIOFaultStart = "io-fault-start"
	FIOFaultEnd   = "io-fault-end"
)

// Resolution is the value of an FResolve entry: invoke index -> whether
// the operation took effect.
type Resolution map[int64]bool

// Entry is one line of a history.
type Entry struct {
	Index    int64           `json:"index"`
	Type     Type            `json:"type"`
	Process  int             `json:"process"`
	Time     time.Time       `json:"time"`
	Workload string          `json:"workload,omitempty"`
	F        string          `json:"f"`
	Value    json.RawMessage `json:"value,omitempty"`
	Error    string          `json:"error,omitempty"`
	// Invoke is the index of the invoke entry a completion belongs to.
	Invoke int64 `json:"invoke,omitempty"`
	// Pos is the data disk's write-log position read on the host when a
	// worker invoked an op and right after it saw the op's ack (powercut
	// nemesis only; see ApplyCuts).
	Pos *LogPos `json:"pos,omitempty"`
}

// Recorder appends entries to an in-memory history and streams each one to
// an io.Writer as a JSON line. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	w       io.Writer
	next    int64
	entries []Entry
	werr    error
	now     func() time.Time
	counts  map[Type]int
	// position reads the write-log position (SetPositions).
	position func() (LogPos, error)
}

// SetPositions makes the recorder read the data disk's write-log position
// with f for every worker invoke and every worker ack (an OK completion),
// right when they are recorded, and keep it in the entry (Entry.Pos). A
// read that fails leaves Pos empty: the op then counts as acked before
// any cut, the strict reading. Call it before recording starts.
func (r *Recorder) SetPositions(f func() (LogPos, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.position = f
}

// positionFor reads the position for an entry of type t by process.
func (r *Recorder) positionFor(process int, t Type) *LogPos {
	r.mu.Lock()
	f := r.position
	r.mu.Unlock()
	if f == nil || process < 0 || (t != Invoke && t != OK) {
		return nil
	}
	p, err := f()
	if err != nil {
		return nil
	}
	return &p
}

// NewRecorder returns a recorder writing to w (nil: memory only). Each
// entry is written with a single Write call and not buffered, so an
// *os.File holds every entry whose method returned even if the process
// dies right after.
func NewRecorder(w io.Writer) *Recorder {
	return &Recorder{w: w, now: time.Now, counts: map[Type]int{}}
}

// Err returns the first error writing the stream, if any. Recording goes on
// in memory after a write error so a full disk does not also lose the
// in-memory history; the driver reports it.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.werr
}

// Pending is an invoked operation awaiting its completion.
type Pending struct {
	rec *Recorder
	inv Entry
}

// Entry returns the invoke entry.
func (p *Pending) Entry() Entry { return p.inv }

// Invoke records that process is about to perform f with value (marshalled
// to JSON). It must be called before the operation is sent, so that any
// effect observed in the database was attempted.
func (r *Recorder) Invoke(process int, workload, f string, value any) *Pending {
	e := Entry{Type: Invoke, Process: process, Workload: workload, F: f, Value: mustJSON(value), Pos: r.positionFor(process, Invoke)}
	return &Pending{rec: r, inv: r.append(e)}
}

// Complete records the outcome of p. value (optional) replaces the invoke's
// value in the completion, e.g. for a read's result.
func (p *Pending) Complete(t Type, value any, err error) Entry {
	// First: the position must be read right after the ack was seen.
	pos := p.rec.positionFor(p.inv.Process, t)
	e := Entry{Type: t, Process: p.inv.Process, Workload: p.inv.Workload, F: p.inv.F, Invoke: p.inv.Index, Pos: pos}
	if value != nil {
		e.Value = mustJSON(value)
	} else {
		e.Value = p.inv.Value
	}
	if err != nil {
		e.Error = Truncate(err.Error())
	}
	return p.rec.append(e)
}

// MaxErrorText bounds an error text kept in a history or report: a server
// that echoes a rejected multi-MiB value back in its error message must not
// put it into every line that names the op.
const MaxErrorText = 2048

// Truncate shortens s to MaxErrorText bytes, saying how much was cut.
func Truncate(s string) string {
	if len(s) <= MaxErrorText {
		return s
	}
	return fmt.Sprintf("%s... [%d more bytes]", s[:MaxErrorText], len(s)-MaxErrorText)
}

// OK, Fail and Info are shorthands for Complete.
func (p *Pending) OK(value any) Entry   { return p.Complete(OK, value, nil) }
func (p *Pending) Fail(err error) Entry { return p.Complete(Fail, nil, err) }
func (p *Pending) Info(err error) Entry { return p.Complete(Info, nil, err) }

// Done completes p with the outcome Classify assigns to err (OK for nil)
// and returns that outcome. sent says whether the statement that would make
// the operation take effect (the autocommit statement, or COMMIT) may have
// reached the server.
func (p *Pending) Done(err error, sent bool) Type {
	t := Classify(err, sent)
	p.Complete(t, nil, err)
	return t
}

// Log records a standalone entry (type Info) for events that have no
// invoke, e.g. a progress marker.
func (r *Recorder) Log(process int, workload, f string, value any) Entry {
	return r.append(Entry{Type: Info, Process: process, Workload: workload, F: f, Value: mustJSON(value)})
}

// LogObserved is Log for what a check observed in the database (FResolve):
// the entry carries the write-log position read now (when SetPositions
// was called), at or after the observation, so that ApplyCuts can tell a
// state cut before it from one cut after it.
func (r *Recorder) LogObserved(process int, workload, f string, value any) Entry {
	e := Entry{Type: Info, Process: process, Workload: workload, F: f, Value: mustJSON(value)}
	r.mu.Lock()
	pos := r.position
	r.mu.Unlock()
	if pos != nil {
		if p, err := pos(); err == nil {
			e.Pos = &p
		}
	}
	return r.append(e)
}

func (r *Recorder) append(e Entry) Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Index = r.next
	r.next++
	e.Time = r.now().UTC()
	r.entries = append(r.entries, e)
	if e.Process >= 0 {
		r.counts[e.Type]++
	}
	if r.w != nil {
		line, err := json.Marshal(e)
		if err == nil {
			_, err = r.w.Write(append(line, '\n'))
		}
		if err != nil && r.werr == nil {
			r.werr = fmt.Errorf("write history entry %d: %w", e.Index, err)
		}
	}
	return e
}

// Entries returns everything recorded so far. Entries are never changed
// once appended, so the result shares the recorder's storage instead of
// copying it (checks after every crash read the whole history); its
// capacity is capped, so appending to it cannot touch the recorder's.
func (r *Recorder) Entries() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries[:len(r.entries):len(r.entries)]
}

// Counts returns how many client (worker) entries of each type were
// recorded, for progress reports.
func (r *Recorder) Counts() map[Type]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := make(map[Type]int, len(r.counts))
	for k, v := range r.counts {
		c[k] = v
	}
	return c
}

// Len is the number of entries recorded so far; it is also the index the
// next entry will get.
func (r *Recorder) Len() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Values are the workloads' own plain structs; failing to marshal
		// one is a programming error.
		panic(fmt.Sprintf("history: marshal %T: %v", v, err))
	}
	return b
}

// Read loads a history written by a Recorder. A last line without its
// newline that does not parse (the writer died mid-line) is dropped and
// reported via truncated; any other bad line is an error.
func Read(rd io.Reader) (h History, truncated bool, err error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, false, fmt.Errorf("read history: %w", err)
	}
	lines := bytes.Split(data, []byte{'\n'})
	for i, b := range lines {
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			if i == len(lines)-1 {
				// No newline after it: the writer died mid-line.
				return h, true, nil
			}
			return nil, false, fmt.Errorf("history line %d: %w", i+1, err)
		}
		h = append(h, e)
	}
	return h, false, nil
}

// ReadFile is Read on a file.
func ReadFile(path string) (History, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return Read(f)
}

// History is a sequence of entries in index order.
type History []Entry

// Before returns the entries with Index < idx.
func (h History) Before(idx int64) History {
	i := sort.Search(len(h), func(i int) bool { return h[i].Index >= idx })
	return h[:i]
}

// Op is an invoke paired with its completion.
type Op struct {
	Process  int
	Workload string
	F        string
	// Type is the outcome: OK, Fail or Info. An invoke without completion
	// (the test died, or the history was cut) counts as Info.
	Type     Type
	Invoke   Entry
	Complete *Entry
	// Value is the completion's value if it has one, else the invoke's.
	Value json.RawMessage
	Error string
}

// Ops pairs invokes with completions, in invoke order. Standalone entries
// (Log) are not returned.
func (h History) Ops() []Op { return h.OpsWhere(func(Entry) bool { return true }) }

// OpsOf is Ops restricted to one workload's operations.
func (h History) OpsOf(workload string) []Op {
	return h.OpsWhere(func(e Entry) bool { return e.Workload == workload })
}

// OpsWhere is Ops restricted to operations whose invoke satisfies keep
// (completions carry the same process, workload and f). Checkers call it
// after every crash over the whole history, so it pairs only what it keeps
// and sizes its index once.
func (h History) OpsWhere(keep func(Entry) bool) []Op {
	n := 0
	for i := range h {
		if h[i].Type == Invoke && keep(h[i]) {
			n++
		}
	}
	ops := make([]Op, 0, n)
	byInvoke := make(map[int64]int, n)
	for i := range h {
		e := &h[i]
		if !keep(*e) {
			continue
		}
		if e.Type == Invoke {
			byInvoke[e.Index] = len(ops)
			ops = append(ops, Op{Process: e.Process, Workload: e.Workload, F: e.F, Type: Info, Invoke: *e, Value: e.Value})
			continue
		}
		k, ok := byInvoke[e.Invoke]
		if !ok || ops[k].Complete != nil {
			continue
		}
		ops[k].Complete = e
		ops[k].Type = e.Type
		if len(e.Value) > 0 {
			ops[k].Value = e.Value
		}
		ops[k].Error = e.Error
	}
	return ops
}

// Resolutions collects the FResolve entries for workload. A later entry
// never contradicts an earlier one (checkers resolve each op once).
func (h History) Resolutions(workload string) Resolution {
	res := Resolution{}
	for _, e := range h {
		if e.Process != CheckerProcess || e.F != FResolve || e.Workload != workload {
			continue
		}
		var r Resolution
		if json.Unmarshal(e.Value, &r) == nil {
			for k, v := range r {
				if _, seen := res[k]; !seen {
					res[k] = v
				}
			}
		}
	}
	return res
}

// LastCrashReady is the index of the last entry that completed a crash
// (the server answered again), or -1.
func (h History) LastCrashReady() int64 {
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		if e.Process == NemesisProcess && e.F == FCrash && e.Type != Invoke {
			return e.Index
		}
	}
	return -1
}

// Crash is one nemesis crash as seen in a history.
type Crash struct {
	N         int // 1-based
	Requested time.Time
	Ready     time.Time // zero if the server never came back
	Op        Op
}

// Crashes lists the nemesis crash operations in order.
func (h History) Crashes() []Crash {
	var cs []Crash
	for _, op := range h.OpsWhere(func(e Entry) bool { return e.Process == NemesisProcess && e.F == FCrash }) {
		c := Crash{N: len(cs) + 1, Requested: op.Invoke.Time, Op: op}
		if op.Complete != nil && op.Type == OK {
			c.Ready = op.Complete.Time
		}
		cs = append(cs, c)
	}
	return cs
}
