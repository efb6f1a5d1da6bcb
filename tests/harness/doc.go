// Package harness drives a crash test: it runs workloads against a Target,
// has a Nemesis crash the server on a seeded schedule, checks the state
// after every recovery and at the end, and persists the evidence
// (history, state snapshot, report, repro command) even when the test
// panics.
//
// A run lasts -crash.duration and at least -crash.min-cycles crashes: when
// resets are slow it goes on past the planned length until the minimum is
// reached, up to a hard bound (-crash.max-duration, by default four times
// the duration). A run that reaches even the bound with fewer crashes is
// inconclusive (report.Inconclusive): the infrastructure was too slow,
// which is not a durability finding.
//
// The harness knows nothing about VMs: a backend supplies a Target (where
// the server answers) and a Nemesis (crash it and wait until it answers
// again). tests/localserver is the process-kill backend; tests/vmbackend
// plugs the VM control plane in the same way.
//
// Files: backend.go (the interfaces backends implement), flags.go (the
// flag table and Config), fsconfig.go and faults.go (the filesystem config
// and planted fault tables), schedule.go (when to crash), driver.go (a
// run's setup and persistence), cycles.go (the crash loop and its bounds),
// check.go (snapshots and verdicts), clients.go (client goroutines and the
// connection pool).
package harness
