package sqlbackend

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// databaseRevokeRuleID names the analyzer rule that replaces
// database-level REVOKE (distinct from the engine's rule ids).
const databaseRevokeRuleID analyzer.RuleId = 10018

// databaseRevokeRule replaces every REVOKE ... ON db.* with
// revokeDatabase. go-mysql-server v0.20.0 deletes a database's whole
// privilege entry when its last database-level privilege is revoked
// (PrivilegeSet.RemoveDatabase; REVOKE ALL clears it too), and with it
// every table and routine privilege in that database: REVOKE SELECT ON
// db.* also took back GRANT INSERT ON db.t. In MySQL the two levels are
// independent (mysql.db and mysql.tables_priv). Found by the crash
// suite's users workload.
func databaseRevokeRule(mdb func() *mysql_db.MySQLDb) analyzer.RuleFunc {
	return func(_ *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
		return transform.Node(n, func(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
			r, ok := n.(*plan.Revoke)
			if !ok || r.PrivilegeLevel.Database == "*" || r.PrivilegeLevel.TableRoutine != "*" || r.ObjectType != plan.ObjectType_Any {
				return n, transform.SameTree, nil
			}
			return &revokeDatabase{Revoke: r, mdb: mdb()}, transform.NewTree, nil
		})
	}
}

// revokeDatabase is a database-level REVOKE that keeps the table and
// routine privileges of that database. It does what the engine's REVOKE
// does (same editor, same checks, one Persist, so one durable commit),
// restoring those privileges before persisting.
type revokeDatabase struct {
	*plan.Revoke
	mdb *mysql_db.MySQLDb
}

var _ sql.ExecSourceRel = (*revokeDatabase)(nil)

func (r *revokeDatabase) WithChildren(children ...sql.Node) (sql.Node, error) {
	n, err := r.Revoke.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	return &revokeDatabase{Revoke: n.(*plan.Revoke), mdb: r.mdb}, nil
}

// heldBelow is a copy of the table and routine privileges of a database
// (the engine clears its sets in place, so the sets themselves will not
// do).
type heldBelow struct {
	tables   map[string][]sql.PrivilegeType
	routines []heldRoutine
}

type heldRoutine struct {
	name   string
	isProc bool
	privs  []sql.PrivilegeType
}

func copyBelow(db sql.PrivilegeSetDatabase) heldBelow {
	h := heldBelow{tables: map[string][]sql.PrivilegeType{}}
	for _, t := range db.GetTables() {
		h.tables[t.Name()] = t.ToSlice()
	}
	for _, r := range db.GetRoutines() {
		h.routines = append(h.routines, heldRoutine{name: r.RoutineName(), isProc: r.RoutineType() == "PROCEDURE", privs: r.ToSlice()})
	}
	return h
}

func (h heldBelow) restore(ps mysql_db.PrivilegeSet, dbName string) {
	for name, privs := range h.tables {
		if len(privs) > 0 {
			ps.AddTable(dbName, name, privs...)
		}
	}
	for _, r := range h.routines {
		if len(r.privs) > 0 {
			ps.AddRoutine(dbName, r.name, r.isProc, r.privs...)
		}
	}
}

func (r *revokeDatabase) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	ed := r.mdb.Editor()
	defer ed.Close()
	users := make([]*mysql_db.User, 0, len(r.Users))
	for _, u := range r.Users {
		user := r.mdb.GetUser(ed, u.Name, u.Host, false)
		if user == nil {
			return nil, sql.ErrGrantUserDoesNotExist.New()
		}
		users = append(users, user)
	}
	database := r.PrivilegeLevel.Database
	if database == "" {
		if database = ctx.GetCurrentDatabase(); database == "" {
			return nil, sql.ErrNoDatabaseSelected.New()
		}
	}
	for _, user := range users {
		below := copyBelow(user.PrivilegeSet.Database(database))
		if err := r.HandleDatabasePrivileges(user, database); err != nil {
			return nil, err
		}
		below.restore(user.PrivilegeSet, database)
	}
	if err := r.mdb.Persist(ctx, ed); err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}
