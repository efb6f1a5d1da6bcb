package sqlbackend

import (
	"testing"

	"github.com/crashrig/crashrig/database/store"
)

// BenchmarkAutocommitInsert measures client-visible commit latency: one
// autocommit INSERT over the MySQL protocol, durable (journal fsync)
// before the OK packet.
func BenchmarkAutocommitInsert(b *testing.B) {
	ts := startServer(b, b.TempDir(), store.Options{Logf: func(string, ...any) {}}, "")
	db := ts.open("root", "", "")
	db.SetMaxOpenConns(1)
	mustExec(b, db, "CREATE DATABASE app")
	mustExec(b, db, "CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(64))")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Exec("INSERT INTO app.t VALUES (?, 'benchmark-row-payload')", i); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPointSelect measures a primary-key lookup round trip.
func BenchmarkPointSelect(b *testing.B) {
	ts := startServer(b, b.TempDir(), store.Options{Logf: func(string, ...any) {}}, "")
	db := ts.open("root", "", "")
	db.SetMaxOpenConns(1)
	mustExec(b, db, "CREATE DATABASE app")
	mustExec(b, db, "CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(64))")
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 10000; i++ {
		if _, err := tx.Exec("INSERT INTO app.t VALUES (?, 'x')", i); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var v string
		if err := db.QueryRow("SELECT v FROM app.t WHERE id = ?", i%10000).Scan(&v); err != nil {
			b.Fatal(err)
		}
	}
}
