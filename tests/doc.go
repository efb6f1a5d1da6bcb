// Package tests holds crashrig's crash suite: `go test ./tests` runs the
// workloads against a server while crashing it (see README.md). The
// machinery lives in the subpackages: history, workload, checker, harness,
// and localserver (the kill -9 backend).
package tests
