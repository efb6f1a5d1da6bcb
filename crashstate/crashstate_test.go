package crashstate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crashrig/crashrig/blocklog"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Every 512-byte unit the tests write is stamped with its source so the
// built disk says, unit by unit, which write it came from: bytes 0-7 are
// the entry index + 1 (0: the base image), bytes 8-15 the unit's address.
const baseSource = 0

type source uint64 // entry index + 1; baseSource; or zeroSource

const zeroSource = source(1<<64 - 1) // a unit that reads as zeros

func stamp(src source, unit uint64) []byte {
	b := bytes.Repeat([]byte{0xee}, Unit)
	binary.LittleEndian.PutUint64(b[0:], uint64(src))
	binary.LittleEndian.PutUint64(b[8:], unit)
	return b
}

// synth is a synthetic disk and log under construction.
type synth struct {
	t       testing.TB
	dir     string
	units   uint64
	log     *os.File
	w       *blocklog.Writer
	perSect uint64
}

func newSynth(t testing.TB, units uint64, opts ...blocklog.WriterOption) *synth {
	t.Helper()
	dir := t.TempDir()
	base := make([]byte, 0, units*Unit)
	for u := uint64(0); u < units; u++ {
		base = append(base, stamp(baseSource, u)...)
	}
	if err := os.WriteFile(filepath.Join(dir, "base.raw"), base, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w, err := blocklog.NewWriter(f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &synth{t: t, dir: dir, units: units, log: f, w: w, perSect: uint64(w.SectorSize() / Unit)}
}

// write logs a write of n log sectors at sector, stamped as the next entry.
func (s *synth) write(sector, n uint64, flags blocklog.Flags) uint64 {
	s.t.Helper()
	idx := s.w.Entries()
	var data []byte
	for u := sector * s.perSect; u < (sector+n)*s.perSect; u++ {
		data = append(data, stamp(source(idx+1), u)...)
	}
	if err := s.w.Write(sector, data, flags); err != nil {
		s.t.Fatal(err)
	}
	return idx
}

func (s *synth) flush() uint64 {
	s.t.Helper()
	idx := s.w.Entries()
	if err := s.w.Flush(); err != nil {
		s.t.Fatal(err)
	}
	return idx
}

func (s *synth) discard(sector, n uint64) uint64 {
	s.t.Helper()
	idx := s.w.Entries()
	if err := s.w.Discard(sector, n); err != nil {
		s.t.Fatal(err)
	}
	return idx
}

func (s *synth) mark(text string) {
	s.t.Helper()
	if err := s.w.Mark(text); err != nil {
		s.t.Fatal(err)
	}
}

func (s *synth) index() *Index {
	s.t.Helper()
	if err := s.w.Close(); err != nil {
		s.t.Fatal(err)
	}
	ix, err := ScanFile(s.log.Name())
	if err != nil {
		s.t.Fatal(err)
	}
	return ix
}

// build builds ch and returns each unit's source.
func (s *synth) build(ix *Index, ch Choices) ([]source, Result) {
	s.t.Helper()
	out := filepath.Join(s.dir, fmt.Sprintf("out-%d-%d.raw", ch.Cut, ch.Seed))
	res, err := Build(context.Background(), ix, s.log.Name(), filepath.Join(s.dir, "base.raw"), out, ch)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.sources(out), res
}

func (s *synth) sources(path string) []source {
	s.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	if uint64(len(b)) != s.units*Unit {
		s.t.Fatalf("built image is %d bytes, want %d", len(b), s.units*Unit)
	}
	srcs := make([]source, s.units)
	for u := range srcs {
		unit := b[u*Unit : (u+1)*Unit]
		if bytes.Equal(unit, make([]byte, Unit)) {
			srcs[u] = zeroSource
			continue
		}
		src := source(binary.LittleEndian.Uint64(unit))
		if !bytes.Equal(unit, stamp(src, uint64(u))) {
			s.t.Fatalf("unit %d holds neither a stamp for itself nor zeros (a unit was moved or mixed)", u)
		}
		srcs[u] = src
	}
	return srcs
}

func choose(t *testing.T, ix *Index, cut uint64, seed int64, opts ...ChooseOption) Choices {
	t.Helper()
	ch, err := Choose(ix, cut, seed, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// want checks units [from, to) came from src.
func want(t *testing.T, got []source, from, to uint64, src source, why string) {
	t.Helper()
	for u := from; u < to; u++ {
		if got[u] != src {
			t.Errorf("%s: unit %d from %d, want %d", why, u, got[u], src)
		}
	}
}

func TestFlushMakesEarlierWritesDurable(t *testing.T) {
	s := newSynth(t, 64)
	a := s.write(0, 4, 0)
	b := s.write(8, 2, 0)
	s.flush()
	c := s.write(16, 2, 0)
	ix := s.index()
	// Cut just after the flush: nothing is volatile; even "drop all" keeps A, B.
	ch := choose(t, ix, 3, 1, WithDropProbability(1))
	if ch.VolatileLen != 0 || len(ch.Dropped) != 0 {
		t.Fatalf("cut after a flush: %+v", ch)
	}
	got, res := s.build(ix, ch)
	want(t, got, 0, 4, source(a+1), "A before flush")
	want(t, got, 8, 10, source(b+1), "B before flush")
	want(t, got, 16, 18, baseSource, "C after the cut")
	if res.Durable != 2 {
		t.Errorf("durable %d, want 2", res.Durable)
	}
	// Cut after C with everything dropped: A and B stay, C goes.
	got, _ = s.build(ix, choose(t, ix, 4, 1, WithDropProbability(1), WithTearProbability(0)))
	want(t, got, 0, 4, source(a+1), "A")
	want(t, got, 16, 18, baseSource, "C dropped")
	got, _ = s.build(ix, choose(t, ix, 4, 1, WithDropProbability(0), WithTearProbability(0)))
	want(t, got, 16, 18, source(c+1), "C kept")
	// Cut before the flush: A and B are volatile and all dropped.
	got, _ = s.build(ix, choose(t, ix, 2, 1, WithDropProbability(1), WithTearProbability(0)))
	want(t, got, 0, 10, baseSource, "unflushed A, B dropped")
}

func TestFUAIsDurableOnCompletion(t *testing.T) {
	s := newSynth(t, 64)
	s.flush()
	a := s.write(0, 2, 0)
	f := s.write(4, 2, blocklog.FlagFUA)
	c := s.write(8, 2, 0)
	ix := s.index()
	if v := ix.Volatile(4); !slices.Equal(v, []uint64{a, c}) {
		t.Fatalf("volatile %v, want [%d %d]", v, a, c)
	}
	got, _ := s.build(ix, choose(t, ix, 4, 7, WithDropProbability(1), WithTearProbability(0)))
	want(t, got, 0, 2, baseSource, "write before FUA not made durable by it")
	want(t, got, 4, 6, source(f+1), "FUA write")
	want(t, got, 8, 10, baseSource, "write after FUA")
}

func TestFlushWithDataPrecedesItsOwnWrite(t *testing.T) {
	s := newSynth(t, 64)
	a := s.write(0, 2, 0)
	fw := s.write(4, 2, blocklog.FlagFlush) // REQ_PREFLUSH with data
	ix := s.index()
	if lf := ix.LastFlush(2); lf != int64(fw) {
		t.Fatalf("last flush %d, want %d", lf, fw)
	}
	got, _ := s.build(ix, choose(t, ix, 2, 1, WithDropProbability(1), WithTearProbability(0)))
	want(t, got, 0, 2, source(a+1), "write before the preflush")
	want(t, got, 4, 6, baseSource, "the flush's own data is volatile")
}

func TestDropAndKeepAll(t *testing.T) {
	s := newSynth(t, 64)
	s.flush()
	var ws []uint64
	for i := uint64(0); i < 8; i++ {
		ws = append(ws, s.write(i*4, 2, 0))
	}
	ix := s.index()
	got, res := s.build(ix, choose(t, ix, ix.Len(), 3, WithDropProbability(0), WithTearProbability(0)))
	for i, w := range ws {
		want(t, got, uint64(i)*4, uint64(i)*4+2, source(w+1), "kept")
	}
	if res.Kept != 8 || res.Dropped != 0 {
		t.Errorf("result %+v", res)
	}
	got, res = s.build(ix, choose(t, ix, ix.Len(), 3, WithDropProbability(1), WithTearProbability(0)))
	want(t, got, 0, 64, baseSource, "all dropped")
	if res.Kept != 0 || res.Dropped != 8 {
		t.Errorf("result %+v", res)
	}
}

// TestReorderAndOverwrite: two unflushed writes of the same units, after a
// flushed one, under each of the four keep/drop combinations.
func TestReorderAndOverwrite(t *testing.T) {
	s := newSynth(t, 64)
	d := s.write(0, 4, 0)
	s.flush()
	w1 := s.write(0, 4, 0)
	w2 := s.write(2, 4, 0) // overlaps the second half of w1
	ix := s.index()
	base := choose(t, ix, ix.Len(), 1, WithTearProbability(0))
	for _, c := range []struct {
		dropped    []uint64
		u01, u23   source
		u45        source
		why        string
		kept, drop int
	}{
		{nil, source(w1 + 1), source(w2 + 1), source(w2 + 1), "both kept: later wins", 2, 0},
		{[]uint64{w1}, source(d + 1), source(w2 + 1), source(w2 + 1), "later kept, earlier dropped", 1, 1},
		{[]uint64{w2}, source(w1 + 1), source(w1 + 1), baseSource, "earlier kept, later dropped", 1, 1},
		{[]uint64{w1, w2}, source(d + 1), source(d + 1), baseSource, "both dropped: the flushed data", 0, 2},
	} {
		ch := base
		ch.Dropped = c.dropped
		got, res := s.build(ix, ch)
		want(t, got, 0, 2, c.u01, c.why)
		want(t, got, 2, 4, c.u23, c.why)
		want(t, got, 4, 6, c.u45, c.why)
		if res.Kept != c.kept || res.Dropped != c.drop {
			t.Errorf("%s: result %+v", c.why, res)
		}
	}
}

func TestTear(t *testing.T) {
	s := newSynth(t, 64)
	s.flush()
	w := s.write(8, 8, 0)
	ix := s.index()
	ch := choose(t, ix, ix.Len(), 1, WithTearProbability(0))
	ch.Torn = &Tear{Entry: w, Prefix: true, Kept: []Range{{0, 3}}}
	got, res := s.build(ix, ch)
	want(t, got, 8, 11, source(w+1), "torn prefix kept")
	want(t, got, 11, 16, baseSource, "torn rest lost")
	if !res.Torn {
		t.Error("result does not say torn")
	}
	ch.Torn = &Tear{Entry: w, Kept: []Range{{1, 2}, {5, 7}}}
	got, _ = s.build(ix, ch)
	for u := uint64(8); u < 16; u++ {
		src := source(baseSource)
		if u == 9 || u == 13 || u == 14 {
			src = source(w + 1)
		}
		want(t, got, u, u+1, src, "torn subset")
	}
	// Chosen tears are proper, non-empty parts of multi-unit volatile writes.
	for seed := int64(0); seed < 200; seed++ {
		ch := choose(t, ix, ix.Len(), seed, WithTearProbability(1))
		if ch.Torn == nil {
			t.Fatalf("seed %d: no tear with probability 1", seed)
		}
		n := uint64(0)
		for _, r := range ch.Torn.Kept {
			n += r.End - r.Start
		}
		if n == 0 || n >= 8 {
			t.Fatalf("seed %d: tear keeps %d of 8 units", seed, n)
		}
	}
}

func TestTearNeverPicksFUAOrSingleUnit(t *testing.T) {
	s := newSynth(t, 64)
	s.flush()
	s.write(0, 8, blocklog.FlagFUA)
	s.write(10, 1, 0)
	s.discard(20, 8)
	ix := s.index()
	for seed := int64(0); seed < 50; seed++ {
		if ch := choose(t, ix, ix.Len(), seed, WithTearProbability(1)); ch.Torn != nil {
			t.Fatalf("seed %d tore entry %d", seed, ch.Torn.Entry)
		}
	}
}

func TestDiscard(t *testing.T) {
	s := newSynth(t, 64)
	a := s.write(0, 8, 0)
	s.discard(0, 4) // flushed below: reads as zeros
	s.flush()
	old := s.write(16, 8, 0)
	s.flush()
	d := s.discard(16, 8) // unflushed: zeros if kept, old data if dropped
	ix := s.index()
	ch := choose(t, ix, ix.Len(), 1, WithDropProbability(0))
	got, _ := s.build(ix, ch)
	want(t, got, 0, 4, zeroSource, "flushed discard")
	want(t, got, 4, 8, source(a+1), "rest of the write")
	want(t, got, 16, 24, zeroSource, "kept unflushed discard")
	ch.Dropped = []uint64{d}
	got, _ = s.build(ix, ch)
	want(t, got, 16, 24, source(old+1), "dropped unflushed discard keeps the flushed data")
}

func TestLargeLogSector(t *testing.T) {
	s := newSynth(t, 128, blocklog.WithSectorSize(4096))
	w := s.write(2, 1, 0) // units 16..24
	s.flush()
	ix := s.index()
	if ix.Ops[w].Start != 16 || ix.Ops[w].Units != 8 {
		t.Fatalf("op %+v: 4096-byte log sectors are not 8 units", ix.Ops[w])
	}
	got, _ := s.build(ix, choose(t, ix, ix.Len(), 1))
	want(t, got, 16, 24, source(w+1), "4 KiB sector write")
	want(t, got, 0, 16, baseSource, "untouched")
}

func TestFlushPositions(t *testing.T) {
	s := newSynth(t, 64)
	s.write(0, 1, 0)
	s.flush()
	s.mark("m")
	s.write(1, 1, 0)
	s.write(2, 1, blocklog.FlagFlush)
	s.flush()
	ix := s.index()
	if got := ix.FlushPositions(); !slices.Equal(got, []uint64{2, 5, 6}) {
		t.Errorf("flush positions %v, want [2 5 6]", got)
	}
	for cut, wantLF := range map[uint64]int64{0: -1, 1: -1, 2: 1, 4: 1, 5: 4, 6: 5} {
		if lf := ix.LastFlush(cut); lf != wantLF {
			t.Errorf("LastFlush(%d) = %d, want %d", cut, lf, wantLF)
		}
	}
}

// randomLog writes n random entries on a disk of units units.
func randomLog(t testing.TB, rng *rand.Rand, units uint64, n int) *synth {
	s := newSynth(t, units)
	for i := 0; i < n; i++ {
		switch p := rng.IntN(100); {
		case p < 15:
			s.flush()
		case p < 20:
			s.discard(rng.Uint64N(units-8), 1+rng.Uint64N(8))
		case p < 22:
			s.mark("x")
		default:
			var f blocklog.Flags
			if rng.IntN(10) == 0 {
				f = blocklog.FlagFUA
			}
			if rng.IntN(20) == 0 {
				f |= blocklog.FlagFlush
			}
			s.write(rng.Uint64N(units-16), 1+rng.Uint64N(16), f)
		}
	}
	return s
}

// model applies ch forward, entry by entry: the obvious reading of the
// choices, against which the builder's newest-first application is checked.
func model(ix *Index, ch Choices) []source {
	var units uint64
	for _, op := range ix.Ops {
		units = max(units, op.Start+op.Units)
	}
	got := make([]source, 0)
	set := func(u uint64, s source) {
		for uint64(len(got)) <= u {
			got = append(got, baseSource)
		}
		got[u] = s
	}
	for i := uint64(0); i < ch.Cut; i++ {
		op := ix.Ops[i]
		if !op.IsWrite() || slices.Contains(ch.Dropped, i) {
			continue
		}
		for u := op.Start; u < op.Start+op.Units; u++ {
			if t := ch.Torn; t != nil && t.Entry == i && !slices.ContainsFunc(t.Kept, func(r Range) bool {
				return u-op.Start >= r.Start && u-op.Start < r.End
			}) {
				continue
			}
			if op.IsDiscard() {
				set(u, zeroSource)
			} else {
				set(u, source(i+1))
			}
		}
	}
	return got
}

// allowed is what the block layer's promises allow unit u to hold after a
// power cut at cut, independent of any choices: the last write to u that
// was durable (flushed or FUA), or any later completed write to u.
func allowed(ix *Index, cut, u uint64) []source {
	lf := ix.LastFlush(cut)
	last := source(baseSource)
	var later []source
	for i := uint64(0); i < cut; i++ {
		op := ix.Ops[i]
		if !op.IsWrite() || u < op.Start || u >= op.Start+op.Units {
			continue
		}
		val := source(i + 1)
		if op.IsDiscard() {
			val = zeroSource
		}
		if int64(i) < lf || op.IsFUA() {
			last, later = val, nil
		} else {
			later = append(later, val)
		}
	}
	return append(later, last)
}

// TestNeverMoreNorLessThanPromised builds many seeded states of random
// logs at every kind of cut and checks each unit holds what the promises
// allow, and exactly what the choices say.
func TestNeverMoreNorLessThanPromised(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for round := 0; round < 6; round++ {
		s := randomLog(t, rng, 128, 120)
		ix := s.index()
		cuts := []uint64{0, ix.Len()}
		cuts = append(cuts, ix.FlushPositions()...)
		for k := 0; k < 6; k++ {
			cuts = append(cuts, rng.Uint64N(ix.Len()+1))
		}
		for _, cut := range cuts {
			seed := rng.Int64()
			ch := choose(t, ix, cut, seed)
			got, _ := s.build(ix, ch)
			exact := model(ix, ch)
			for u := uint64(0); u < s.units; u++ {
				ok := allowed(ix, cut, u)
				if !slices.Contains(ok, got[u]) {
					t.Fatalf("round %d cut %d seed %d: unit %d from %d, the promises allow only %v", round, cut, seed, u, got[u], ok)
				}
				m := source(baseSource)
				if u < uint64(len(exact)) {
					m = exact[u]
				}
				if got[u] != m {
					t.Fatalf("round %d cut %d seed %d: unit %d from %d, the choices say %d", round, cut, seed, u, got[u], m)
				}
			}
			if slices.Contains(ix.FlushPositions(), cut) && len(ch.Dropped) > 0 && ix.Ops[cut-1].Units == 0 {
				t.Fatalf("cut %d right after a flush dropped %v", cut, ch.Dropped)
			}
		}
	}
}

func TestSeededDeterminismAndReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := randomLog(t, rng, 128, 200)
	ix := s.index()
	cut := ix.Len()
	a := choose(t, ix, cut, 42)
	b := choose(t, ix, cut, 42)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("same seed, different choices:\n%s\n%s", ja, jb)
	}
	distinct := map[string]bool{}
	for seed := int64(0); seed < 10; seed++ {
		j, _ := json.Marshal(choose(t, ix, cut, seed))
		distinct[string(j)] = true
	}
	if len(distinct) < 5 {
		t.Errorf("10 seeds gave only %d distinct choices", len(distinct))
	}

	// Record, then replay from the JSON alone: byte-identical disks.
	out1 := filepath.Join(s.dir, "first.raw")
	ch, _, err := BuildAt(context.Background(), ix, s.log.Name(), filepath.Join(s.dir, "base.raw"), out1, cut, 42)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	var replayed Choices
	if err := json.Unmarshal(rec, &replayed); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(s.dir, "replay.raw")
	if _, err := Rebuild(context.Background(), s.log.Name(), filepath.Join(s.dir, "base.raw"), out2, replayed); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Error("replayed disk differs from the recorded one")
	}
}

func TestRefusesMismatches(t *testing.T) {
	s := newSynth(t, 16)
	s.flush()
	w := s.write(0, 2, 0)
	s.write(20, 2, 0) // past the 16-unit base image
	ix := s.index()
	_, err := Build(context.Background(), ix, s.log.Name(), filepath.Join(s.dir, "base.raw"), filepath.Join(s.dir, "o"), choose(t, ix, ix.Len(), 1, WithDropProbability(0)))
	if err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("write past the image: %v", err)
	}
	for name, ch := range map[string]Choices{
		"cut past log":      {Cut: 9, LogEntries: 3},
		"longer log":        {Cut: 1, LogEntries: 9, LastFlush: 0},
		"wrong last flush":  {Cut: 2, LogEntries: 3, LastFlush: -1},
		"drop durable":      {Cut: 3, LogEntries: 3, LastFlush: 0, Dropped: []uint64{0}},
		"tear one unit":     {Cut: 2, LogEntries: 3, LastFlush: 0, Torn: &Tear{Entry: w, Kept: []Range{{0, 3}}}},
		"drop and tear":     {Cut: 2, LogEntries: 3, LastFlush: 0, Dropped: []uint64{w}, Torn: &Tear{Entry: w, Kept: []Range{{0, 1}}}},
		"unsorted dropped":  {Cut: 3, LogEntries: 3, LastFlush: 0, Dropped: []uint64{2, 1}},
		"tear of non-write": {Cut: 2, LogEntries: 3, LastFlush: 0, Torn: &Tear{Entry: 0, Kept: []Range{{0, 1}}}},
	} {
		if err := ch.Validate(ix); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Choose(ix, 9, 1); err == nil {
		t.Error("Choose accepted a cut past the log")
	}
}

func TestCoverageRuns(t *testing.T) {
	var c coverage
	var runs []Range
	rec := func(s, e uint64) error { runs = append(runs, Range{s, e}); return nil }
	_ = c.claim(10, 20, rec)
	_ = c.claim(chunkUnits-2, chunkUnits+3, rec) // across a chunk boundary
	runs = nil
	_ = c.claim(5, chunkUnits+5, rec)
	wantRuns := []Range{{5, 10}, {20, chunkUnits - 2}, {chunkUnits + 3, chunkUnits + 5}}
	if !slices.Equal(runs, wantRuns) {
		t.Errorf("runs %v, want %v", runs, wantRuns)
	}
}

// TestScratchMatchesFreshBuilds moves one scratch image through many states
// of one log and compares each with a disk built from scratch.
func TestScratchMatchesFreshBuilds(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	s := randomLog(t, rng, 256, 300)
	ix := s.index()
	base := filepath.Join(s.dir, "base.raw")
	sc, err := NewScratch(base, s.log.Name(), filepath.Join(s.dir, "scratch.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	cuts := append(ix.FlushPositions(), 0, ix.Len(), ix.Len()/2)
	var fullBytes, incrBytes int64
	for k, cut := range cuts {
		ch := choose(t, ix, cut, int64(k))
		res, err := sc.Build(context.Background(), ix, ch)
		if err != nil {
			t.Fatal(err)
		}
		fresh := filepath.Join(s.dir, "fresh.raw")
		full, err := Build(context.Background(), ix, s.log.Name(), base, fresh, ch)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(filepath.Join(s.dir, "scratch.raw"))
		b, _ := os.ReadFile(fresh)
		if !bytes.Equal(a, b) {
			t.Fatalf("state %d (cut %d): scratch image differs from a fresh build", k, cut)
		}
		if k > 0 {
			fullBytes += full.Bytes
			incrBytes += res.Bytes
		}
	}
	if incrBytes >= fullBytes {
		t.Errorf("scratch rewrote %d bytes over the states, fresh builds %d: no saving", incrBytes, fullBytes)
	}
	t.Logf("bytes written: scratch %d, fresh builds %d", incrBytes, fullBytes)
}

func TestDiffRuns(t *testing.T) {
	cur := []run{{0, 4, 1}, {10, 20, 2}}
	next := []run{{2, 6, 1}, {10, 15, 2}, {15, 20, 3}}
	type seg struct{ a, b, src uint64 }
	var got []seg
	_ = diffRuns(cur, next, func(a, b, src uint64) error { got = append(got, seg{a, b, src}); return nil })
	want := []seg{{0, 2, 0}, {4, 6, 1}, {15, 20, 3}}
	if !slices.Equal(got, want) {
		t.Errorf("diff %v, want %v", got, want)
	}
}

func TestCopyImageKeepsContentAndHoles(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("crashrig"), 8192) // 64 KiB
	for _, off := range []int64{0, 4 << 20, 9<<20 + 4096} {
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(16 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(dst, []byte("old content"), 0o600); err != nil {
		t.Fatal(err)
	}
	method, err := CopyImage(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatalf("copy (%s) differs from the source", method)
	}
	var st unix.Stat_t
	if err := unix.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 >= 16<<20 {
		t.Errorf("copy (%s) allocates %d bytes of a 16 MiB file with 192 KiB of data: holes filled", method, st.Blocks*512)
	}
}

func TestChooseCut(t *testing.T) {
	var ops []Op
	for i := 0; i < 40; i++ {
		ops = append(ops, Op{Start: uint64(i), Units: 1}, Op{Flags: blocklog.FlagFlush})
	}
	ix := &Index{SectorSize: 512, Ops: ops}
	fl := ix.FlushPositions()
	from := fl[len(fl)-9]
	ends, early := 0, 0
	for seed := int64(0); seed < 200; seed++ {
		c := ChooseCut(ix, seed)
		require.Equal(t, c, ChooseCut(ix, seed), "seeded")
		require.LessOrEqual(t, c, ix.Len(), "never after the end of the log")
		require.GreaterOrEqual(t, c, from, "within the last eight flushes")
		if c == ix.Len() {
			ends++
		} else {
			early++
		}
	}
	require.Greater(t, ends, 50)
	require.Greater(t, early, 50)
	require.Equal(t, uint64(0), ChooseCut(&Index{SectorSize: 512}, 1), "an empty log is cut at 0")
}

func TestChooseSampleCuts(t *testing.T) {
	ix := &Index{SectorSize: 512, Ops: []Op{
		{Start: 0, Units: 1}, {Flags: blocklog.FlagFlush}, {Start: 1, Units: 1}, {Flags: blocklog.FlagFlush}, {Start: 2, Units: 1},
	}}
	all := ChooseSampleCuts(ix, 1, 10, 0)
	require.Equal(t, []uint64{2, 4, 5}, all, "every flush boundary and the end, ascending")
	two := ChooseSampleCuts(ix, 7, 2, 0)
	require.Len(t, two, 2)
	require.True(t, slices.IsSorted(two))
	require.Equal(t, two, ChooseSampleCuts(ix, 7, 2, 0), "seeded")
	require.Empty(t, ChooseSampleCuts(ix, 7, 0, 0))
	require.Empty(t, ChooseSampleCuts(&Index{SectorSize: 512}, 7, 3, 0), "an empty log has nothing to sample")
	require.Equal(t, []uint64{4, 5}, ChooseSampleCuts(ix, 1, 10, 3), "none before from (the end of provisioning)")
	require.Empty(t, ChooseSampleCuts(ix, 1, 10, 6), "nothing at or after from")
}
