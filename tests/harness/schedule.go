package harness

import (
	"math/rand/v2"
	"time"
)

// Schedule yields the waits between crashes: Interval +/- up to Jitter,
// drawn from an RNG seeded by the run seed, so a seed reproduces the
// schedule (the wall-clock positions of crashes relative to the traffic
// still vary with timing).
type Schedule struct {
	interval, jitter time.Duration
	rng              *rand.Rand
}

// scheduleStream separates the schedule's random stream from the clients'
// (which use their process ids as streams).
const scheduleStream = 1 << 62

// NewSchedule returns the schedule for seed.
func NewSchedule(seed uint64, interval, jitter time.Duration) *Schedule {
	return &Schedule{interval: interval, jitter: jitter, rng: rand.New(rand.NewPCG(seed, scheduleStream))}
}

// Next returns the wait before the next crash.
func (s *Schedule) Next() time.Duration {
	d := s.interval
	if s.jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(2*s.jitter)+1)) - s.jitter
	}
	return max(d, time.Millisecond)
}
