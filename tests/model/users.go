package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Users function names: one per account statement.
const (
	FCreateUser  = "create-user"  // CREATE USER u IDENTIFIED BY pw
	FGrant       = "grant"        // GRANT priv ON object TO u
	FRevoke      = "revoke"       // REVOKE priv ON object FROM u
	FSetPassword = "set-password" // SET PASSWORD FOR u (ALTER USER where PASSWORD() is missing)
	FDropUser    = "drop-user"    // DROP USER [IF EXISTS] u
)

// UsersDB and UsersTable are what the users workload grants privileges
// on: the database (UsersDB.*) and one table in it.
const (
	UsersDB    = "crashrig"
	UsersTable = "crash_users"
)

// UserPrivileges are the privileges the users workload grants and revokes.
var UserPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}

// UserObjects are the objects it grants them on.
var UserObjects = []string{UsersDB + ".*", UsersDB + "." + UsersTable}

// Grant names one privilege on one object, e.g. "SELECT ON crashrig.*".
func Grant(priv, object string) string { return priv + " ON " + object }

// UsersValue is the value of a users op. All accounts are User@'%'.
type UsersValue struct {
	User string `json:"user"`
	// Password: the new password (create-user, set-password).
	Password string `json:"password,omitempty"`
	// Grant: the privilege granted or revoked (Grant(priv, object)).
	Grant string `json:"grant,omitempty"`
	// IfExists: a DROP USER IF EXISTS, which ends an account whose state
	// an op of unknown outcome left uncertain.
	IfExists bool `json:"if_exists,omitempty"`
}

// Account is one account's privilege state: what the server must hold
// after a sequence of account statements. The zero value is an absent
// account.
type Account struct {
	Exists   bool     `json:"exists"`
	Password string   `json:"password,omitempty"`
	Grants   []string `json:"grants,omitempty"` // sorted
}

// Apply returns the state after op f with value v took effect on a. A
// statement that cannot apply (a grant to an absent account) leaves the
// state as it is: the server refuses it.
func (a Account) Apply(f string, v UsersValue) Account {
	switch f {
	case FCreateUser:
		if !a.Exists {
			return Account{Exists: true, Password: v.Password}
		}
	case FDropUser:
		return Account{}
	case FSetPassword:
		if a.Exists {
			a.Password = v.Password
		}
	case FGrant:
		if a.Exists && !slices.Contains(a.Grants, v.Grant) {
			a.Grants = append(slices.Clone(a.Grants), v.Grant)
			sort.Strings(a.Grants)
		}
	case FRevoke:
		if i := slices.Index(a.Grants, v.Grant); a.Exists && i >= 0 {
			a.Grants = slices.Delete(slices.Clone(a.Grants), i, i+1)
		}
	}
	return a
}

// Key identifies the state, for comparing and deduplicating.
func (a Account) Key() string {
	if !a.Exists {
		return "absent"
	}
	return fmt.Sprintf("password %q, grants [%s]", a.Password, strings.Join(a.Grants, "; "))
}

// ObservedAccount is one account as a state snapshot saw it.
type ObservedAccount struct {
	// Exists: the account is in mysql.user.
	Exists bool `json:"exists"`
	// Grants are the privileges SHOW GRANTS lists on UserObjects (sorted;
	// USAGE ON *.* left out); anything else SHOW GRANTS lists is here too,
	// as "PRIV ON object", so that it fails the comparison.
	Grants []string `json:"grants,omitempty"`
	// Logins maps each password tried to whether a login with it
	// succeeded (false: refused with 1045, access denied).
	Logins map[string]bool `json:"logins,omitempty"`
}

// UsersState is the users workload's snapshot: every account of the
// workload (its name prefix) in mysql.user, and the logins tried for the
// accounts the workload still checks.
type UsersState struct {
	Accounts map[string]ObservedAccount `json:"accounts"`
}

// Matches reports whether the observed account is exactly in state a:
// it exists as a does, holds exactly a's grants, and every login tried
// succeeded exactly when it used a's password.
func (o ObservedAccount) Matches(a Account) bool {
	if o.Exists != a.Exists {
		return false
	}
	if a.Exists && !slices.Equal(o.Grants, a.Grants) {
		return false
	}
	for pw, ok := range o.Logins {
		if ok != (a.Exists && pw == a.Password) {
			return false
		}
	}
	return true
}
