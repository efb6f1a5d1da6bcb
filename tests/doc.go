// Package tests holds crashrig's crash suite: `go test ./tests` runs the
// workloads against a server while crashing it (see README.md). The
// machinery lives in the subpackages: history (what happened), model (op
// and state types both sides share), workload (traffic), checker (pure
// rules), report (verdicts, persistence, offline re-check), harness (the
// driver and its tables), localserver (the kill -9 backend) and vmbackend
// (the QEMU VM backend).
package tests
