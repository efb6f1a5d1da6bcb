package history

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestClassify(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		sent bool
		want Type
	}{
		{"nil", nil, true, OK},
		{"duplicate key", &mysql.MySQLError{Number: 1062}, true, Fail},
		{"deadlock", &mysql.MySQLError{Number: 1213}, true, Fail},
		{"packet too large (server)", &mysql.MySQLError{Number: 1153}, true, Fail},
		{"packet too large (driver)", fmt.Errorf("add: %w", mysql.ErrPktTooLarge), true, Fail},
		{"wrapped deadlock", fmt.Errorf("transfer: %w", &mysql.MySQLError{Number: 1213}), true, Fail},
		{"no such table", &mysql.MySQLError{Number: 1146}, true, Fail},
		{"unknown server error", &mysql.MySQLError{Number: 1105}, true, Info},
		{"invalid connection", mysql.ErrInvalidConn, true, Info},
		{"bad conn", driver.ErrBadConn, true, Info},
		{"EOF", io.EOF, true, Info},
		{"unexpected EOF", io.ErrUnexpectedEOF, true, Info},
		{"reset", reset, true, Info},
		{"deadline", context.DeadlineExceeded, true, Info},
		{"canceled", fmt.Errorf("exec: %w", context.Canceled), true, Info},
		{"refused dial", refused, true, Fail},
		// Inside an explicit transaction, before COMMIT: the server rolls
		// back whatever happened.
		{"reset before commit", reset, false, Fail},
		{"invalid connection before commit", mysql.ErrInvalidConn, false, Fail},
	} {
		if got := Classify(tc.err, tc.sent); got != tc.want {
			t.Errorf("%s: Classify(%v, sent=%v) = %s, want %s", tc.name, tc.err, tc.sent, got, tc.want)
		}
	}
	if IsConnectionError(&mysql.MySQLError{Number: 1062}) || !IsConnectionError(mysql.ErrInvalidConn) || IsConnectionError(nil) {
		t.Error("IsConnectionError: a server error packet keeps the connection; anything else drops it")
	}
}
