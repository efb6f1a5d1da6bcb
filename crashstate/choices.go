package crashstate

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Choices say exactly which disk a power cut left: enough to rebuild it
// byte for byte from the same base image and log. Every volatile write (see
// Index.Volatile) that is neither in Dropped nor Torn was kept; every other
// write before Cut is durable. A kept discard reads as zeros, a dropped one
// as the data before it.
type Choices struct {
	// Cut is the log position of the power cut: entries [0, Cut) completed.
	Cut uint64 `json:"cut"`
	// LogEntries is the log's entry count when the choices were made (a
	// replay checks it is using the same log, or a longer one).
	LogEntries uint64 `json:"log_entries"`
	// LastFlush is the index of the last FLUSH before Cut (-1: none): every
	// write before it is durable. Recorded for readers; derived from the log.
	LastFlush int64 `json:"last_flush"`
	// Seed produced these choices (with the probabilities below).
	Seed        int64   `json:"seed"`
	DropProb    float64 `json:"drop_prob"`
	TearProb    float64 `json:"tear_prob"`
	VolatileLen int     `json:"volatile"` // how many writes could be lost
	// Dropped are the indexes of the volatile writes the cut lost.
	Dropped []uint64 `json:"dropped,omitempty"`
	// Torn is the one write the cut tore, if any.
	Torn *Tear `json:"torn,omitempty"`
}

// Tear is a write of which only some 512-byte units reached the disk.
type Tear struct {
	Entry uint64 `json:"entry"`
	// Prefix says the kept units are a prefix (a write cut short in
	// order); otherwise an arbitrary subset (a device writing units in
	// any order).
	Prefix bool `json:"prefix"`
	// Kept are the units that reached the disk, relative to the write's
	// first unit, as sorted half-open ranges.
	Kept []Range `json:"kept"`
}

// Range is a half-open range [Start, End) of 512-byte units.
type Range struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
}

// chooseConfig holds Choose's options.
type chooseConfig struct {
	dropProb float64
	tearProb float64
}

// ChooseOption configures Choose.
type ChooseOption func(*chooseConfig)

// WithDropProbability sets the chance each volatile write is lost
// (default 0.5).
func WithDropProbability(p float64) ChooseOption {
	return func(c *chooseConfig) { c.dropProb = p }
}

// WithTearProbability sets the chance one volatile multi-unit write is torn
// (default 0.5; 0 never tears).
func WithTearProbability(p float64) ChooseOption {
	return func(c *chooseConfig) { c.tearProb = p }
}

// Choose picks, from seed, what a power cut at position cut kept of the
// volatile writes. The same index, cut, seed and options give the same
// choices.
func Choose(ix *Index, cut uint64, seed int64, opts ...ChooseOption) (Choices, error) {
	cfg := chooseConfig{dropProb: 0.5, tearProb: 0.5}
	for _, o := range opts {
		o(&cfg)
	}
	if cut > ix.Len() {
		return Choices{}, fmt.Errorf("crashstate: cut %d is past the log's %d entries", cut, ix.Len())
	}
	if cfg.dropProb < 0 || cfg.dropProb > 1 || cfg.tearProb < 0 || cfg.tearProb > 1 {
		return Choices{}, fmt.Errorf("crashstate: probabilities must be in [0, 1] (drop %v, tear %v)", cfg.dropProb, cfg.tearProb)
	}
	// The cut is mixed into the stream so neighbouring cuts of one run with
	// one seed do not make correlated choices.
	rng := rand.New(rand.NewPCG(uint64(seed), cut))
	vol := ix.Volatile(cut)
	ch := Choices{
		Cut: cut, LogEntries: ix.Len(), LastFlush: ix.LastFlush(cut),
		Seed: seed, DropProb: cfg.dropProb, TearProb: cfg.tearProb, VolatileLen: len(vol),
	}
	for _, i := range vol {
		if rng.Float64() < cfg.dropProb {
			ch.Dropped = append(ch.Dropped, i)
		}
	}
	var tearable []uint64
	for _, i := range vol {
		if op := ix.Ops[i]; !op.IsDiscard() && op.Units >= 2 {
			tearable = append(tearable, i)
		}
	}
	if len(tearable) > 0 && rng.Float64() < cfg.tearProb {
		i := tearable[rng.IntN(len(tearable))]
		ch.Torn = chooseTear(rng, i, ix.Ops[i].Units)
		ch.Dropped = slices.DeleteFunc(ch.Dropped, func(d uint64) bool { return d == i })
	}
	return ch, nil
}

// chooseTear keeps a proper, non-empty part of a write's units.
func chooseTear(rng *rand.Rand, entry, units uint64) *Tear {
	t := &Tear{Entry: entry, Prefix: rng.IntN(2) == 0}
	if t.Prefix {
		t.Kept = []Range{{0, 1 + rng.Uint64N(units-1)}}
		return t
	}
	kept := make([]bool, units)
	n := 0
	for u := range kept {
		if rng.IntN(2) == 0 {
			kept[u] = true
			n++
		}
	}
	// Neither all nor none: those are a kept or a dropped write.
	if n == 0 {
		kept[rng.Uint64N(units)] = true
	} else if uint64(n) == units {
		kept[rng.Uint64N(units)] = false
	}
	for u := uint64(0); u < units; {
		if !kept[u] {
			u++
			continue
		}
		start := u
		for u < units && kept[u] {
			u++
		}
		t.Kept = append(t.Kept, Range{start, u})
	}
	return t
}

// Validate checks that ch describes a cut of the log ix indexes: a replay
// with a different log is refused rather than building a wrong disk.
func (ch Choices) Validate(ix *Index) error {
	if ch.Cut > ix.Len() {
		return fmt.Errorf("crashstate: choices cut at %d, the log has %d entries", ch.Cut, ix.Len())
	}
	if ix.Len() < ch.LogEntries {
		return fmt.Errorf("crashstate: choices were made on a log of %d entries, this one has %d", ch.LogEntries, ix.Len())
	}
	if lf := ix.LastFlush(ch.Cut); lf != ch.LastFlush {
		return fmt.Errorf("crashstate: choices say the last flush before %d is %d, the log says %d", ch.Cut, ch.LastFlush, lf)
	}
	vol := ix.Volatile(ch.Cut)
	isVol := func(i uint64) bool { _, ok := slices.BinarySearch(vol, i); return ok }
	for k, d := range ch.Dropped {
		if !isVol(d) {
			return fmt.Errorf("crashstate: dropped entry %d is not a volatile write at cut %d", d, ch.Cut)
		}
		if k > 0 && d <= ch.Dropped[k-1] {
			return fmt.Errorf("crashstate: dropped entries are not strictly increasing at %d", d)
		}
	}
	if t := ch.Torn; t != nil {
		if !isVol(t.Entry) || ix.Ops[t.Entry].IsDiscard() {
			return fmt.Errorf("crashstate: torn entry %d is not a volatile data write at cut %d", t.Entry, ch.Cut)
		}
		if _, ok := slices.BinarySearch(ch.Dropped, t.Entry); ok {
			return fmt.Errorf("crashstate: entry %d is both dropped and torn", t.Entry)
		}
		var prev uint64
		for _, r := range t.Kept {
			if r.Start < prev || r.End <= r.Start || r.End > ix.Ops[t.Entry].Units {
				return fmt.Errorf("crashstate: torn entry %d: bad kept range [%d, %d) of %d units", t.Entry, r.Start, r.End, ix.Ops[t.Entry].Units)
			}
			prev = r.End
		}
	}
	return nil
}

// ChooseCut picks a seeded cut point in a log that ended with a power cut:
// half the time the end of the log (the cut came when QEMU died), else a
// position among the last eight flushes' stretch of the log, flush
// boundaries and the positions between them alike (the power went a
// little earlier; what came after never happened).
func ChooseCut(ix *Index, seed int64) uint64 {
	n := ix.Len()
	rng := rand.New(rand.NewPCG(uint64(seed), n^0x9e3779b97f4a7c15))
	if n == 0 || rng.IntN(2) == 0 {
		return n
	}
	var from uint64
	if fl := ix.FlushPositions(); len(fl) > 8 {
		from = fl[len(fl)-9]
	}
	return from + rng.Uint64N(n-from+1)
}

// ChooseSampleCuts picks up to k distinct seeded cut points among the
// log's flush boundaries at or after from and its end, in ascending order
// (a Scratch moves forward through them cheaply): the extra states of a
// cycle to check.
func ChooseSampleCuts(ix *Index, seed int64, k int, from uint64) []uint64 {
	cands := slices.DeleteFunc(ix.FlushPositions(), func(p uint64) bool { return p < from })
	if n := ix.Len(); n > 0 && n >= from && (len(cands) == 0 || cands[len(cands)-1] != n) {
		cands = append(cands, n)
	}
	if k <= 0 || len(cands) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x73616d706c6573))
	rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	picked := cands[:min(k, len(cands))]
	slices.Sort(picked)
	return picked
}
