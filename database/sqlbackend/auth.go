package sqlbackend

import (
	"net"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
)

// unknownUserAuth makes a login as an unknown user fail like one with a
// wrong password: error 1045. go-mysql-server v0.20.0 finds no auth
// method for a user it does not know and ends the handshake with error
// 2012 "No authentication methods available", which also tells a client
// which user names exist.
type unknownUserAuth struct {
	mysql.AuthServer
	mdb *mysql_db.MySQLDb
}

func (a unknownUserAuth) AuthMethods() []mysql.AuthMethod {
	inner := a.AuthServer.AuthMethods()
	out := make([]mysql.AuthMethod, len(inner))
	def := a.DefaultAuthMethodDescription()
	for i, m := range inner {
		out[i] = m
		if m.Name() == def {
			out[i] = anyUserMethod{AuthMethod: m, mdb: a.mdb}
		}
	}
	return out
}

// anyUserMethod also takes users that do not exist; validating their
// password then fails with 1045 (the engine's ValidateHash).
type anyUserMethod struct {
	mysql.AuthMethod
	mdb *mysql_db.MySQLDb
}

func (m anyUserMethod) HandleUser(c *mysql.Conn, user string) bool {
	if m.AuthMethod.HandleUser(c, user) {
		return true
	}
	if !m.mdb.Enabled() {
		return false
	}
	host := "localhost"
	if addr := c.RemoteAddr(); addr.Network() != "unix" {
		h, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			return false
		}
		host = h
	}
	rd := m.mdb.Reader()
	defer rd.Close()
	// Known users keep the methods their accounts name.
	return m.mdb.GetUser(rd, user, host, false) == nil
}

// listenerFactory installs unknownUserAuth in the protocol listener.
func listenerFactory(mdb *mysql_db.MySQLDb) server.ProtocolListenerFunc {
	return func(cfg server.Config, lc mysql.ListenerConfig, sel server.ServerEventListener) (server.ProtocolListener, error) {
		lc.AuthServer = unknownUserAuth{AuthServer: lc.AuthServer, mdb: mdb}
		return server.MySQLProtocolListenerFactory(cfg, lc, sel)
	}
}
