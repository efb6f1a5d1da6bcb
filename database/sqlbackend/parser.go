package sqlbackend

import (
	"context"
	"errors"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MaxNestingDepth bounds how deeply a statement's syntax tree may nest.
// go-mysql-server's planner takes time quadratic in the depth of an
// expression chain (SELECT 1+1+...: 4,000 terms 13 s, 8,000 terms 55 s,
// measured 2026-11-30) and does not look at the query's context while it
// plans, so neither KILL nor a vanished client stops it. Refusing such
// statements up front is the only bound.
const MaxNestingDepth = 1000

// erStackOverrun is MySQL's ER_STACK_OVERRUN_NEED_MORE, its answer to
// statements nested too deeply.
const erStackOverrun = 1436

// serverParser is the engine's parser followed by this server's
// statement rules: refuse statements nested too deeply, and keep a
// qualified DELETE of a whole table working without a current database.
type serverParser struct {
	sql.Parser
	maxDepth int
}

var _ sql.Parser = serverParser{}

// Each entry point runs SET PASSWORD FOR as ALTER USER (setpassword.go):
// the rewritten statement is the whole query, so the text and the rest
// returned are the query's own.

func (p serverParser) ParseSimple(query string) (ast.Statement, error) {
	if alter, ok := rewriteSetPassword(query); ok {
		st, err := p.Parser.ParseSimple(alter)
		return st, p.apply(context.Background(), st, err)
	}
	st, err := p.Parser.ParseSimple(query)
	return st, p.apply(context.Background(), st, err)
}

func (p serverParser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	if alter, ok := rewriteSetPassword(query); ok {
		st, _, _, err := p.Parser.Parse(ctx, alter, false)
		return st, strings.TrimSpace(query), "", p.apply(ctx, st, err)
	}
	st, q, rest, err := p.Parser.Parse(ctx, query, multi)
	return st, q, rest, p.apply(ctx, st, err)
}

func (p serverParser) ParseWithOptions(ctx context.Context, query string, delim rune, multi bool, opts ast.ParserOptions) (ast.Statement, string, string, error) {
	if alter, ok := rewriteSetPassword(query); ok && delim == ';' {
		st, _, _, err := p.Parser.ParseWithOptions(ctx, alter, delim, false, opts)
		return st, strings.TrimSpace(query), "", p.apply(ctx, st, err)
	}
	st, q, rest, err := p.Parser.ParseWithOptions(ctx, query, delim, multi, opts)
	return st, q, rest, p.apply(ctx, st, err)
}

func (p serverParser) ParseOneWithOptions(ctx context.Context, query string, opts ast.ParserOptions) (ast.Statement, int, error) {
	if alter, ok := rewriteSetPassword(query); ok {
		st, _, err := p.Parser.ParseOneWithOptions(ctx, alter, opts)
		return st, len(query), p.apply(ctx, st, err)
	}
	st, n, err := p.Parser.ParseOneWithOptions(ctx, query, opts)
	return st, n, p.apply(ctx, st, err)
}

func (p serverParser) apply(ctx context.Context, st ast.Statement, err error) error {
	if err != nil || st == nil {
		return err
	}
	if tooDeep(st, 1, p.maxDepth) {
		return mysql.NewSQLError(erStackOverrun, "HY000",
			"Statement nested more than %d levels deep (e.g. a chain of that many operators); this server refuses it because planning it would take minutes", p.maxDepth)
	}
	keepDeleteAllOfOtherDB(ctx, st)
	return nil
}

// keepDeleteAllOfOtherDB gives `DELETE FROM db.t` without WHERE an
// always-true WHERE when db is not the current database. go-mysql-server
// turns a DELETE of a whole table into TRUNCATE and, deciding whether it
// may, looks the table up in the current database: with none selected the
// statement failed with "database not found: " (v0.20.0,
// analyzer.deleteToTruncate). With a WHERE it stays a DELETE.
func keepDeleteAllOfOtherDB(ctx context.Context, st ast.Statement) {
	del, ok := st.(*ast.Delete)
	if !ok || del.Where != nil || len(del.Targets) > 0 || len(del.TableExprs) != 1 {
		return
	}
	at, ok := del.TableExprs[0].(*ast.AliasedTableExpr)
	if !ok {
		return
	}
	tn, ok := at.Expr.(ast.TableName)
	if !ok || tn.DbQualifier.IsEmpty() {
		return
	}
	if sctx, ok := ctx.(*sql.Context); ok && strings.EqualFold(sctx.GetCurrentDatabase(), tn.DbQualifier.String()) {
		return
	}
	del.Where = ast.NewWhere(ast.WhereStr, ast.BoolVal(true))
}

var errTooDeep = errors.New("too deep")

// tooDeep reports whether the tree under n is deeper than max levels, n
// being at level d. It stops descending at max, so it costs at most the
// nodes above that level.
func tooDeep(n ast.SQLNode, d, max int) bool {
	if d > max {
		return true
	}
	self := true
	err := ast.Walk(func(c ast.SQLNode) (bool, error) {
		if self { // Walk visits n first: go on to its children
			self = false
			return true, nil
		}
		if tooDeep(c, d+1, max) {
			return false, errTooDeep
		}
		return false, nil // tooDeep walked c's subtree already
	}, n)
	return errors.Is(err, errTooDeep)
}
