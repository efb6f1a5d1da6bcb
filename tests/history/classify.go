package history

import (
	"errors"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// definiteServerErrors are MySQL error numbers with which the server
// rejects a statement without applying it: the statement (and for an
// explicit transaction, the transaction) did not happen.
var definiteServerErrors = map[uint16]string{
	1007: "database exists",
	1008: "database does not exist",
	1045: "access denied",
	1049: "unknown database",
	1050: "table exists",
	1051: "unknown table",
	1054: "unknown column",
	1060: "duplicate column",
	1061: "duplicate key name",
	1062: "duplicate entry",
	1064: "syntax error",
	1091: "cannot drop field or key",
	1146: "table does not exist",
	1153: "packet bigger than max_allowed_packet (refused before it is parsed)",
	1205: "lock wait timeout",
	1213: "deadlock, transaction rolled back",
	1364: "field has no default",
	1406: "data too long",
	3572: "NOWAIT lock not granted",
}

// Classify says what a client error means for an operation:
//
//   - nil: OK.
//   - sent == false (the error came before the statement that would make
//     the operation take effect could reach the server, e.g. any error
//     inside an explicit transaction before COMMIT, which the server rolls
//     back): Fail.
//   - a MySQL server error listed in definiteServerErrors: Fail; the server
//     answered and rejected the statement.
//   - a refused or failed dial, or a packet the driver refused as over
//     max_allowed_packet: Fail; nothing was sent.
//   - everything else, notably connection reset, EOF, timeouts,
//     driver.ErrBadConn, mysql.ErrInvalidConn ("invalid connection"),
//     context cancellation, and server errors we do not know: Info, the
//     operation may have happened.
//
// Erring towards Info is always safe (a checker accepts both outcomes);
// erring towards Fail would make the checker report false data loss.
func Classify(err error, sent bool) Type {
	if err == nil {
		return OK
	}
	if !sent {
		return Fail
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if _, ok := definiteServerErrors[me.Number]; ok {
			return Fail
		}
		return Info
	}
	if isDialError(err) || errors.Is(err, mysql.ErrPktTooLarge) {
		// Nothing was sent: no connection, or the driver refused a packet
		// over the server's max_allowed_packet itself.
		return Fail
	}
	return Info
}

// IsConnectionError reports whether err leaves the connection unusable, so
// the client should drop it and reconnect. Only a server's error response
// (a MySQL error packet) proves the connection still works; after anything
// else (reset, EOF, timeout, cancelled context, "invalid connection") the
// protocol state is unknown.
func IsConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	return !errors.As(err, &me)
}

func isDialError(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
