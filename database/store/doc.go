// Package store is the storage engine: a catalog of databases and tables
// kept as copy-on-write trees of content-addressed chunks, persisted in an
// append-only journal, with single-writer transactions and GC.
//
// Durability protocol (see database/README.md): a commit appends its new
// chunks (children before parents), then a root record, then fsyncs the
// journal once; only then does Commit return, so an acknowledged commit
// survives any crash. Recovery opens at the last valid root record.
//
// Files by concern:
//   - store.go: Options, Open, Close, chunk reads
//   - init.go: creating a new data directory, refusing journals without a manifest
//   - scan.go, recovery.go: scanning and indexing the journal, opening at the last root
//   - commit.go: the durable commit path (journal append, fsync, fail-stop)
//   - lock.go: the single write lock
//   - gc.go: journal compaction and the manifest swap
//   - walk.go: walking the chunk graph from roots
//   - faults.go: the test-only planted faults
//   - tx.go, ddl.go, rows.go: transactions, catalog changes, row reads and writes
//   - catalog.go: catalog types and their chunk encoding
//   - fsck.go: offline check and revive
package store
