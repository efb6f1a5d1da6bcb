package sqlbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
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
	// AllowEmptyRootPassword lets root@'%' have no password. Without it,
	// NewServer refuses to create root without a password or to serve a
	// database whose root has none: an operator must opt out explicitly.
	AllowEmptyRootPassword bool
	// Version is advertised to clients.
	Version string
	// SecureFilePriv is the only directory server-side file access
	// (LOAD_FILE, SELECT ... INTO OUTFILE, LOAD DATA INFILE) may touch,
	// and only for accounts with the FILE privilege. "" turns file access
	// off. The directory is created (0700) if missing.
	SecureFilePriv string
	// MaxConnections bounds simultaneous client connections (0 means
	// DefaultMaxConnections, negative means no limit).
	MaxConnections int
	// MaxAllowedPacket is the default max_allowed_packet (0 means
	// DefaultMaxAllowedPacket).
	MaxAllowedPacket int64
}

// ErrRootWithoutPassword is returned by NewServer when root@'%' would have
// no password and Config.AllowEmptyRootPassword is unset.
var ErrRootWithoutPassword = errors.New("root@'%' has no password")

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
	guard := &fileGuard{}
	if cfg.SecureFilePriv != "" {
		dir, err := filepath.Abs(cfg.SecureFilePriv)
		if err != nil {
			return nil, fmt.Errorf("secure_file_priv %s: %w", cfg.SecureFilePriv, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create secure_file_priv directory: %w", err)
		}
		guard.secureDir = dir
	}
	maxPacket := cfg.MaxAllowedPacket
	if maxPacket == 0 {
		maxPacket = DefaultMaxAllowedPacket
	}
	maxConns := cfg.MaxConnections
	if maxConns == 0 {
		maxConns = DefaultMaxConnections
	}
	// max_allowed_packet is redefined as a signed integer: the engine's
	// LOAD_FILE reads it as int64 but its definition converts assigned
	// values to uint64 (a panic on the first LOAD_FILE after SET GLOBAL).
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&sql.MysqlSystemVariable{
		Name:    "max_allowed_packet",
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
		Dynamic: true,
		Type:    types.NewSystemIntType("max_allowed_packet", 1024, 1<<30, false),
		Default: int64(DefaultMaxAllowedPacket),
	}})
	// The engine reads these process-wide globals (its own file checks,
	// @@variables, new sessions' copies).
	if err := sql.SystemVariables.AssignValues(map[string]any{
		"secure_file_priv":   guard.secureDir,
		"max_allowed_packet": maxPacket,
		"max_connections":    int64(max(maxConns, 0)),
	}); err != nil {
		return nil, fmt.Errorf("set server variables: %w", err)
	}
	a := analyzer.NewBuilder(p).AddPreValidationRule(checkPrivilegesRuleID, guard.rule).
		AddPreValidationRule(databaseRevokeRuleID, databaseRevokeRule(func() *mysql_db.MySQLDb { return guard.mdb })).Build()
	eng := sqle.New(a, nil)
	eng.Parser = serverParser{Parser: eng.Parser, maxDepth: MaxNestingDepth}
	guard.mdb = eng.Analyzer.Catalog.MySQLDb
	p.processes = eng.ProcessList
	if err := setupGrants(eng, st, cfg.RootPassword, cfg.AllowEmptyRootPassword); err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Address); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Address, err)
		}
	}
	ln = &limitListener{Listener: ln, maxConns: int64(maxConns)}
	version := cfg.Version
	if version == "" {
		version = "8.0.33-crashrig"
	}
	srv, err := server.NewServer(server.Config{Protocol: "tcp", Listener: ln, Address: ln.Addr().String(), Version: version,
		ProtocolListenerFactory: listenerFactory(eng.Analyzer.Catalog.MySQLDb)},
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
	if lc, ok := conn.Conn.(*limitConn); ok {
		id, procs := conn.ConnectionID, p.processes
		lc.watchClient(func() {
			if procs != nil {
				procs.Kill(id)
			}
		})
	}
	return &Session{BaseSession: base, p: p}, nil
}

// setupGrants loads the durable grant tables, or on first start creates
// root@'%' with all privileges and persists it.
func setupGrants(eng *sqle.Engine, st *store.Store, rootPassword string, allowEmptyRoot bool) error {
	mdb := eng.Analyzer.Catalog.MySQLDb
	mdb.SetPersister(grantPersister{st: st})
	ctx := sql.NewContext(context.Background(), sql.WithSession(sql.NewBaseSession()))
	if grants := st.Head().Catalog.Grants; grants != nil {
		if err := mdb.LoadData(ctx, grants); err != nil {
			return fmt.Errorf("load grant tables: %w", err)
		}
		mdb.SetEnabled(true)
		if !allowEmptyRoot {
			rd := mdb.Reader()
			root := mdb.GetUser(rd, "root", "%", false)
			rd.Close()
			if root != nil && root.AuthString == "" {
				return fmt.Errorf("%w in this database; set one (ALTER USER) while the server runs with the opt-out, "+
					"or start it with the opt-out to accept that", ErrRootWithoutPassword)
			}
		}
		return nil
	}
	if rootPassword == "" && !allowEmptyRoot {
		return fmt.Errorf("%w: give a root password for the new database, or opt out explicitly", ErrRootWithoutPassword)
	}
	ed := mdb.Editor()
	defer ed.Close()
	mdb.AddSuperUser(ed, "root", "%", rootPassword)
	if err := mdb.Persist(ctx, ed); err != nil {
		return fmt.Errorf("persist initial grant tables: %w", err)
	}
	return nil
}
