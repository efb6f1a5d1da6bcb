// Package sqlbackend connects the store to go-mysql-server: databases,
// tables, indexes, editors, sessions and transactions, the grant-table
// persister and the crashrig_gc() procedure.
//
// Files by concern: provider.go (databases, crashrig_gc, grant persistence),
// database.go (tables of one database), table.go (table reads),
// edit.go (row editors, TRUNCATE, AUTO_INCREMENT), alter.go (ALTER TABLE,
// CREATE/DROP INDEX), index.go (index lookups), schema.go (type mapping),
// session.go (sessions and transactions), privileges.go, auth.go,
// listener.go, parser.go, server.go (the server around the engine).
package sqlbackend
