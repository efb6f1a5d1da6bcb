// Package serverkind is what the in-guest agent (cmd/dcrts) and the host
// (the control plane, the crash suites) share about the SQL servers
// crashrig runs: server spec files (Spec: TOML, strictly decoded; the
// built-in targets are embedded specs in specs/), the one Kind that runs a
// spec's guest side (initialises, starts and bootstraps a server, reads
// its own recovery time from its startup log), the guest paths both sides
// name, DSN construction, and WaitAnswer, the one "does the server answer
// yet" loop. It is neither host- nor guest-side: it imports nothing of
// either. Adding a server means writing a spec file, not Go code.
package serverkind
