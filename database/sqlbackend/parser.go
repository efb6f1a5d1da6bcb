package sqlbackend

import (
	"context"
	"errors"

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

// depthLimitedParser refuses statements nested deeper than max.
type depthLimitedParser struct {
	sql.Parser
	max int
}

var _ sql.Parser = depthLimitedParser{}

func (p depthLimitedParser) ParseSimple(query string) (ast.Statement, error) {
	st, err := p.Parser.ParseSimple(query)
	return st, p.check(st, err)
}

func (p depthLimitedParser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	st, q, rest, err := p.Parser.Parse(ctx, query, multi)
	return st, q, rest, p.check(st, err)
}

func (p depthLimitedParser) ParseWithOptions(ctx context.Context, query string, delim rune, multi bool, opts ast.ParserOptions) (ast.Statement, string, string, error) {
	st, q, rest, err := p.Parser.ParseWithOptions(ctx, query, delim, multi, opts)
	return st, q, rest, p.check(st, err)
}

func (p depthLimitedParser) ParseOneWithOptions(ctx context.Context, query string, opts ast.ParserOptions) (ast.Statement, int, error) {
	st, n, err := p.Parser.ParseOneWithOptions(ctx, query, opts)
	return st, n, p.check(st, err)
}

var errTooDeep = errors.New("too deep")

func (p depthLimitedParser) check(st ast.Statement, err error) error {
	if err != nil || st == nil {
		return err
	}
	if tooDeep(st, 1, p.max) {
		return mysql.NewSQLError(erStackOverrun, "HY000",
			"Statement nested more than %d levels deep (e.g. a chain of that many operators); this server refuses it because planning it would take minutes", p.max)
	}
	return nil
}

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
