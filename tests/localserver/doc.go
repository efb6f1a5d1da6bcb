// Package localserver is the process-level crash backend: it runs
// cmd/crashrig-sqlserver as a child process on 127.0.0.1 with a temp data
// directory, and crashes it with kill -9 followed by a restart, or (when
// asked) restarts it cleanly with SIGTERM. A process
// kill keeps the page cache, so it can only expose bugs that do not depend
// on losing unsynced data (see database/README.md); it exists to test the
// crash machinery itself without VMs.
package localserver
