// Package history records what a crash test's clients and nemesis did, in
// the style of Jepsen histories: every operation is an invoke entry followed
// by exactly one completion (ok, fail or info), and the nemesis (the thing
// that resets the machine) logs its own operations in the same stream.
//
// The history is the evidence a checker judges, so it is streamed to disk as
// JSON lines while the test runs: one write(2) per entry, so a crash or
// panic of the test binary loses at most a partly written last line, which
// Read tolerates.
package history
