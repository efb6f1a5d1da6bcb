package sqlbackend

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
)

// checkPrivilegesRuleID names the analyzer rule that adds the privilege
// checks go-mysql-server v0.20.0 lacks. It only needs to be distinct from
// the engine's own rule ids.
const checkPrivilegesRuleID analyzer.RuleId = 10017

// systemVariablesAdmin is MySQL 8's dynamic privilege for SET GLOBAL.
const systemVariablesAdmin = "system_variables_admin"

// fileGuard holds what the privilege rule needs to know about the server.
type fileGuard struct {
	mdb *mysql_db.MySQLDb
	// secureDir is secure_file_priv as an absolute path; "" means file
	// access is off for everyone.
	secureDir string
}

// rule is an analyzer rule (run before validation) that refuses:
//   - LOAD_FILE(), SELECT ... INTO OUTFILE/DUMPFILE and LOAD DATA [LOCAL]
//     INFILE without the global FILE privilege (the engine checks FILE for
//     LOAD DATA only), and any server-side file outside secure_file_priv;
//   - SET GLOBAL/PERSIST (and SET of a global-only variable) without
//     SUPER or SYSTEM_VARIABLES_ADMIN (the engine checks nothing).
//
// It changes no node.
func (g *fileGuard) rule(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	return n, transform.SameTree, g.check(ctx, n)
}

func (g *fileGuard) check(ctx *sql.Context, n sql.Node) error {
	var err error
	fail := func(e error) bool {
		if err == nil {
			err = e
		}
		return false
	}
	transform.Inspect(n, func(n sql.Node) bool {
		if n == nil || err != nil {
			return false
		}
		switch n := n.(type) {
		case *plan.Into:
			if f := n.Outfile + n.Dumpfile; f != "" {
				if e := g.fileAccess(ctx, "SELECT ... INTO OUTFILE", f); e != nil {
					return fail(e)
				}
			}
		case *plan.LoadData:
			file := n.File
			if n.Local {
				file = "" // read by the client, not the server
			}
			if e := g.fileAccess(ctx, "LOAD DATA", file); e != nil {
				return fail(e)
			}
		case *plan.Set:
			for _, e := range n.Exprs {
				if name, ok := globalVariable(e); ok {
					if e := g.setGlobal(ctx, name); e != nil {
						return fail(e)
					}
				}
			}
		}
		if ex, ok := n.(sql.Expressioner); ok {
			for _, e := range ex.Expressions() {
				transform.InspectExpr(e, func(e sql.Expression) bool {
					switch e := e.(type) {
					case *function.LoadFile:
						if ferr := g.fileAccess(ctx, "LOAD_FILE()", ""); ferr != nil {
							fail(ferr)
							return true // stop
						}
					case *plan.Subquery:
						if serr := g.check(ctx, e.Query); serr != nil {
							fail(serr)
							return true
						}
					}
					return false
				})
			}
		}
		return err == nil
	})
	return err
}

// globalVariable reports whether e assigns a global (or persisted) system
// variable, and its name.
func globalVariable(e sql.Expression) (string, bool) {
	sf, ok := e.(*expression.SetField)
	if !ok {
		return "", false
	}
	sv, ok := sf.LeftChild.(*expression.SystemVar)
	if !ok {
		return "", false
	}
	scope, ok := sv.Scope.(*sql.MysqlScope)
	if !ok {
		return sv.Name, true // unknown scope: be strict
	}
	switch scope.Type {
	case sql.SystemVariableScope_Session, sql.SystemVariableScope_Both:
		return "", false
	}
	return sv.Name, true
}

func (g *fileGuard) enabled() bool { return g.mdb != nil && g.mdb.Enabled() }

// fileAccess checks the global FILE privilege and, for a server-side file
// named statically (file != ""), that it lies inside secure_file_priv.
func (g *fileGuard) fileAccess(ctx *sql.Context, what, file string) error {
	if g.enabled() && !g.mdb.UserActivePrivilegeSet(ctx).Has(sql.PrivilegeType_File) {
		return mysql.NewSQLError(mysql.ERSpecifiedAccessDenied, mysql.SSClientError,
			"Access denied; you need (at least one of) the FILE privilege(s) for this operation (%s)", what)
	}
	if g.secureDir == "" {
		return mysql.NewSQLError(mysql.EROptionPreventsStatement, mysql.SSClientError,
			"The MySQL server is running with the --secure-file-priv option so it cannot execute this statement (file access is off)")
	}
	if file == "" {
		return nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// The engine compares path prefixes without a separator
	// ("/data/files2" passes for "/data/files"); require a real child.
	if !strings.HasPrefix(abs, g.secureDir+string(filepath.Separator)) {
		return mysql.NewSQLError(mysql.EROptionPreventsStatement, mysql.SSClientError,
			"The MySQL server is running with the --secure-file-priv option so it cannot execute this statement (%s must be inside %s)", what, g.secureDir)
	}
	return nil
}

// setGlobal checks SUPER or SYSTEM_VARIABLES_ADMIN.
func (g *fileGuard) setGlobal(ctx *sql.Context, name string) error {
	if !g.enabled() || g.mdb.UserHasPrivileges(ctx, sql.NewDynamicPrivilegedOperation(systemVariablesAdmin)) {
		return nil
	}
	return mysql.NewSQLError(mysql.ERSpecifiedAccessDenied, mysql.SSClientError,
		"Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN privilege(s) for this operation (SET GLOBAL %s)", name)
}
