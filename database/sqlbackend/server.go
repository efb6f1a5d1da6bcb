package sqlbackend

import (
	"context"
	"fmt"
	"net"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/crashrig/crashrig/database/store"
)

// Config configures a Server.
type Config struct {
	// Listener to serve on; if nil, Address is listened on.
	Listener net.Listener
	Address  string
	// RootPassword is set for the root@'%' account when the database is
	// first created (an existing account is left alone).
	RootPassword string
	// Version is advertised to clients.
	Version string
}

// Server is a MySQL-protocol server over a store.
type Server struct {
	p   *Provider
	eng *sqle.Engine
	srv *server.Server
	ln  net.Listener
}

// NewServer builds the engine, loads (or creates) the persisted grant
// tables and binds the listener. Call Serve to accept connections.
func NewServer(st *store.Store, cfg Config) (*Server, error) {
	p := NewProvider(st)
	eng := sqle.NewDefault(p)
	if err := setupGrants(eng, st, cfg.RootPassword); err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Address); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Address, err)
		}
	}
	version := cfg.Version
	if version == "" {
		version = "8.0.33-crashrig"
	}
	srv, err := server.NewServer(server.Config{Protocol: "tcp", Listener: ln, Address: ln.Addr().String(), Version: version},
		eng, sql.NewContext, p.sessionBuilder, nil)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("create server: %w", err)
	}
	return &Server{p: p, eng: eng, srv: srv, ln: ln}, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error { return s.srv.Start() }

// Close stops accepting connections.
func (s *Server) Close() error { return s.srv.Close() }

func (p *Provider) sessionBuilder(_ context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	client := sql.Client{Capabilities: conn.Capabilities}
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		client.User, client.Address = u.User, u.Host
	}
	base := sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)
	return &Session{BaseSession: base, p: p}, nil
}

// setupGrants loads the durable grant tables, or on first start creates
// root@'%' with all privileges and persists it.
func setupGrants(eng *sqle.Engine, st *store.Store, rootPassword string) error {
	mdb := eng.Analyzer.Catalog.MySQLDb
	mdb.SetPersister(grantPersister{st: st})
	ctx := sql.NewContext(context.Background(), sql.WithSession(sql.NewBaseSession()))
	if grants := st.Head().Catalog.Grants; grants != nil {
		if err := mdb.LoadData(ctx, grants); err != nil {
			return fmt.Errorf("load grant tables: %w", err)
		}
		mdb.SetEnabled(true)
		return nil
	}
	ed := mdb.Editor()
	defer ed.Close()
	mdb.AddSuperUser(ed, "root", "%", rootPassword)
	if err := mdb.Persist(ctx, ed); err != nil {
		return fmt.Errorf("persist initial grant tables: %w", err)
	}
	return nil
}
