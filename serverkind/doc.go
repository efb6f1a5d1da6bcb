// Package serverkind is what the in-guest agent (cmd/dcrts) and the host
// (the control plane, the crash suites) share about the SQL servers
// crashrig runs: kind names and their guest-side behaviour (a Kind
// initialises, starts and bootstraps a server and reads its own recovery
// time from its startup log), the guest paths both sides name, DSN
// construction, and WaitAnswer, the one "does the server answer yet" loop.
// It is neither host- nor guest-side: it imports nothing of either.
// Adding a server (Dolt) means adding one Kind.
package serverkind
