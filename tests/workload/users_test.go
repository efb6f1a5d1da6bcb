package workload

import (
	"slices"
	"testing"

	"github.com/crashrig/crashrig/tests/model"
)

func TestParseGrants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"bundled", []string{
			"GRANT USAGE ON *.* TO `u1`@`%`",
			"GRANT SELECT, INSERT ON `crashrig`.* TO `u1`@`%`",
			"GRANT UPDATE ON `crashrig`.`crash_users` TO `u1`@`%`",
		}, []string{"INSERT ON crashrig.*", "SELECT ON crashrig.*", "UPDATE ON crashrig.crash_users"}},
		{"mariadb", []string{
			"GRANT USAGE ON *.* TO `crashrig_u1_0`@`%` IDENTIFIED BY PASSWORD '*B69027D44F6E5EDC07F1AEAD1477967B16F28227'",
			"GRANT DELETE ON `crashrig`.* TO `crashrig_u1_0`@`%`",
		}, []string{"DELETE ON crashrig.*"}},
		// Anything else is kept, so that it fails the comparison.
		{"global", []string{"GRANT SELECT ON *.* TO `u`@`%`"}, []string{"SELECT ON *.*"}},
		{"unreadable", []string{"REVOKE x"}, []string{"REVOKE x"}},
	} {
		if got := parseGrants(tc.lines); !slices.Equal(got, tc.want) {
			t.Errorf("%s: parseGrants = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Every op the workload sends names exactly the grant the model applies,
// and the SQL of a password change depends on the server.
func TestUsersStatements(t *testing.T) {
	b := newUsers(Options{Flavor: model.Bundled}.withDefaults())
	m := newUsers(Options{Flavor: model.MariaDB}.withDefaults())
	v := model.UsersValue{User: "crashrig_u1_0", Password: "pw-1", Grant: model.Grant("SELECT", model.UserObjects[1])}
	for _, tc := range []struct {
		w    *users
		f    string
		v    model.UsersValue
		want string
	}{
		{b, model.FCreateUser, v, "CREATE USER 'crashrig_u1_0'@'%' IDENTIFIED BY 'pw-1'"},
		{b, model.FGrant, v, "GRANT SELECT ON crashrig.crash_users TO 'crashrig_u1_0'@'%'"},
		{b, model.FRevoke, v, "REVOKE SELECT ON crashrig.crash_users FROM 'crashrig_u1_0'@'%'"},
		{b, model.FSetPassword, v, "SET PASSWORD FOR 'crashrig_u1_0'@'%' = PASSWORD('pw-1')"},
		{newUsers(Options{Flavor: "mysql8"}), model.FSetPassword, v, "ALTER USER 'crashrig_u1_0'@'%' IDENTIFIED BY 'pw-1'"},
		{m, model.FSetPassword, v, "SET PASSWORD FOR 'crashrig_u1_0'@'%' = PASSWORD('pw-1')"},
		{b, model.FDropUser, model.UsersValue{User: v.User, IfExists: true}, "DROP USER IF EXISTS 'crashrig_u1_0'@'%'"},
	} {
		if got := tc.w.statement(tc.f, tc.v); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.w.opts.Flavor, tc.f, got, tc.want)
		}
	}
}
