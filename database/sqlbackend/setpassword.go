package sqlbackend

import (
	"regexp"
	"strings"
)

// setPasswordFor matches a whole `SET PASSWORD FOR account = 'pw'` (MySQL
// 8: the cleartext password) or `... = PASSWORD('pw')` (MySQL 5.7,
// MariaDB), with an optional trailing semicolon. go-mysql-server v0.20.0
// does not parse SET PASSWORD; the server runs it as the equivalent
// `ALTER USER account IDENTIFIED BY 'pw'`, reusing the statement's own
// account and string literals verbatim so that their quoting stays as the
// client wrote it.
var setPasswordFor = func() *regexp.Regexp {
	str := `'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"`
	name := str + "|`(?:[^`]|``)*`|[A-Za-z0-9_$]+"
	account := `(?:` + name + `)(?:\s*@\s*(?:` + name + `))?`
	return regexp.MustCompile(`(?is)^\s*SET\s+PASSWORD\s+FOR\s+(` + account + `)\s*=\s*(?:PASSWORD\s*\(\s*(` + str + `)\s*\)|(` + str + `))\s*;?\s*$`)
}()

// rewriteSetPassword returns the ALTER USER statement a SET PASSWORD FOR
// query stands for, or false for any other query.
func rewriteSetPassword(query string) (string, bool) {
	if !strings.Contains(strings.ToUpper(query), "PASSWORD") {
		return "", false
	}
	m := setPasswordFor.FindStringSubmatch(query)
	if m == nil {
		return "", false
	}
	return "ALTER USER " + m[1] + " IDENTIFIED BY " + m[2] + m[3], true
}
