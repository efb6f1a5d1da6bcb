package sqlbackend

import (
	"context"
	"testing"
	"time"

	"github.com/crashrig/crashrig/database/store"
)

// Two sessions each BEGIN, read a counter, write it plus one and COMMIT.
// The server must refuse one of them (1213); with the no-write-conflict
// fault both are acknowledged and one increment is lost (G-single).
func TestNoWriteConflictFaultLosesUpdate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bool
	}{{"default", false}, {"no-write-conflict", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := store.Options{LockWait: 100 * time.Millisecond}
			opts.Faults.NoWriteConflict = tc.fault
			ts := startServer(t, t.TempDir(), opts, "")
			db := ts.open("root", "", "")
			mustExec(t, db, "CREATE DATABASE app")
			mustExec(t, db, "CREATE TABLE app.c (id INT PRIMARY KEY, n INT)")
			mustExec(t, db, "INSERT INTO app.c VALUES (1, 0)")
			ctx := context.Background()
			c1, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c1.Close()
			c2, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			a, b := connExec{c1}, connExec{c2}

			mustExec(t, a, "BEGIN")
			mustExec(t, b, "BEGIN")
			na := queryInt(t, a, "SELECT n FROM app.c WHERE id = 1")
			nb := queryInt(t, b, "SELECT n FROM app.c WHERE id = 1")
			mustExec(t, a, "UPDATE app.c SET n = ? WHERE id = 1", na+1)
			_, errB := b.Exec("UPDATE app.c SET n = ? WHERE id = 1", nb+1)
			mustExec(t, a, "COMMIT")
			if errB == nil {
				_, errB = b.Exec("COMMIT")
			} else {
				mustExec(t, b, "ROLLBACK")
			}
			final := queryInt(t, db, "SELECT n FROM app.c WHERE id = 1")
			if !tc.fault {
				if mysqlErrNo(errB) != 1213 {
					t.Fatalf("second read-modify-write transaction: %v, want error 1213", errB)
				}
				if final != 1 {
					t.Fatalf("counter %d, want 1", final)
				}
				return
			}
			if errB != nil {
				t.Fatalf("with the fault the second transaction failed: %v", errB)
			}
			if final != 1 {
				t.Fatalf("counter %d after two acknowledged increments; the fault should lose one (want 1)", final)
			}
		})
	}
}
