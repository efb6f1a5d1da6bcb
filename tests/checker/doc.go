// Package checker judges a history against the database state read back
// after a recovery. Checkers are pure functions of (history, state), found
// by workload name (For), so a saved history and state snapshot can be
// re-checked offline without any traffic generator, and each rule can be
// unit-tested with hand-made inputs. Operation names, values and states
// come from package model.
//
// Rules follow Jepsen's set-full checker: an ok'd operation must be
// visible, a failed one must not, an info (unknown) one may go either way,
// and nothing may appear that was never attempted.
//
// Two checkers go beyond durability: CheckAppend infers a transaction
// dependency graph from list-append histories and classifies its cycles
// (after Elle), judged against the isolation level the run declared; and
// CheckRegisters checks register reads for linearizability with porcupine.
// Their explanations (Result.Files) are written to the run directory.
package checker
