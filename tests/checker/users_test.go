package checker

import (
	"testing"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

const (
	grantSel = "SELECT ON crashrig.*"
	grantIns = "INSERT ON crashrig.crash_users"
)

// usersHistory: account a gets a grant, a password change and a revoke
// acknowledged; b is created and dropped; c's grant has an unknown
// outcome (a crash), then c is dropped IF EXISTS after the crash; d's
// create failed; e's password change has an unknown outcome and e is
// then left alone (a crash ends the run's traffic).
func usersHistory() history.History {
	b := newHB()
	b.op(history.SetupProcess, model.Users, model.FSetupTable, nil, ok)
	u := func(f string, v model.UsersValue, t history.Type) { b.op(1, model.Users, f, v, t) }
	u(model.FCreateUser, model.UsersValue{User: "a", Password: "a1"}, ok)
	u(model.FGrant, model.UsersValue{User: "a", Grant: grantSel}, ok)
	u(model.FGrant, model.UsersValue{User: "a", Grant: grantIns}, ok)
	u(model.FSetPassword, model.UsersValue{User: "a", Password: "a2"}, ok)
	u(model.FRevoke, model.UsersValue{User: "a", Grant: grantIns}, ok)
	u(model.FCreateUser, model.UsersValue{User: "b", Password: "b1"}, ok)
	u(model.FDropUser, model.UsersValue{User: "b"}, ok)
	u(model.FCreateUser, model.UsersValue{User: "c", Password: "c1"}, ok)
	u(model.FGrant, model.UsersValue{User: "c", Grant: grantSel}, info)
	u(model.FCreateUser, model.UsersValue{User: "d", Password: "d1"}, fail)
	u(model.FCreateUser, model.UsersValue{User: "e", Password: "e1"}, ok)
	u(model.FSetPassword, model.UsersValue{User: "e", Password: "e2"}, info)
	b.crash()
	return b.h()
}

// goodUsers is a state the history allows, with e's password change
// taken (took) or not.
func goodUsers(took bool) model.UsersState {
	e := model.ObservedAccount{Exists: true, Logins: map[string]bool{"e1": !took, "e2": took}}
	return model.UsersState{Accounts: map[string]model.ObservedAccount{
		"a": {Exists: true, Grants: []string{grantSel}, Logins: map[string]bool{"a1": false, "a2": true}},
		"b": {Logins: map[string]bool{"b1": false}},
		"c": {Exists: true, Logins: map[string]bool{"c1": true}},
		"d": {Logins: map[string]bool{"d1": false}},
		"e": e,
	}}
}

func TestCheckUsersPasses(t *testing.T) {
	h := usersHistory()
	for _, took := range []bool{false, true} {
		st := goodUsers(took)
		res := CheckUsers(h, model.Users, st)
		if !res.OK() {
			t.Fatalf("e's password change taken=%v must pass:\n%s", took, res.Summary())
		}
		// e's unknown password change is settled by what was seen; c's
		// grant too (not taken: its crash is past).
		if len(res.Resolved) != 2 {
			t.Errorf("took=%v: want 2 resolutions (c's grant, e's password), got %v", took, res.Resolved)
		}
		for idx, v := range res.Resolved {
			if e := h[idx]; e.F == model.FSetPassword && v != took {
				t.Errorf("e's password change resolved %v, want %v", v, took)
			}
		}
		// c's grant taken passes too.
		st.Accounts["c"] = model.ObservedAccount{Exists: true, Grants: []string{grantSel}, Logins: map[string]bool{"c1": true}}
		if res := CheckUsers(h, model.Users, st); !res.OK() {
			t.Errorf("c's unknown grant taken must pass:\n%s", res.Summary())
		}
	}
	if got := CheckUsers(h, model.Users, goodUsers(false)).Stats["grant-ok"]; got != 2 {
		t.Errorf("grant-ok = %d, want 2", got)
	}
}

func TestCheckUsersFindsViolations(t *testing.T) {
	h := usersHistory()
	with := func(name string, o model.ObservedAccount) model.UsersState {
		st := goodUsers(false)
		st.Accounts[name] = o
		return st
	}
	// An acknowledged revoke lost: a still holds INSERT.
	expectProblems(t, CheckUsers(h, model.Users, with("a", model.ObservedAccount{Exists: true, Grants: []string{grantIns, grantSel}, Logins: map[string]bool{"a1": false, "a2": true}})),
		map[string]string{"lost": `account a is present with grants [INSERT ON crashrig.crash_users; SELECT ON crashrig.*]`})
	// An acknowledged grant lost (and everything after it).
	expectProblems(t, CheckUsers(h, model.Users, with("a", model.ObservedAccount{Exists: true, Logins: map[string]bool{"a1": true, "a2": false}})),
		map[string]string{"lost": `grant {"user":"a","grant":"SELECT ON crashrig.*"}`})
	// The old password works and the grants are as after the first
	// grant: the later acknowledged ops were lost.
	expectProblems(t, CheckUsers(h, model.Users, with("a", model.ObservedAccount{Exists: true, Grants: []string{grantSel}, Logins: map[string]bool{"a1": true, "a2": false}})),
		map[string]string{"lost": `as before the acknowledged op #6 (client 1, grant {"user":"a","grant":"INSERT ON crashrig.crash_users"}`})
	// The account's privileges are right, but no password logs in.
	expectProblems(t, CheckUsers(h, model.Users, with("a", model.ObservedAccount{Exists: true, Grants: []string{grantSel}, Logins: map[string]bool{"a1": false, "a2": false}})),
		map[string]string{"login": `logins refused with ["a1" "a2"]`})
	// A dropped account can still log in.
	expectProblems(t, CheckUsers(h, model.Users, with("b", model.ObservedAccount{Logins: map[string]bool{"b1": true}})),
		map[string]string{"login": `account b is absent from mysql.user, logins succeed with ["b1"]`})
	// A dropped account came back.
	expectProblems(t, CheckUsers(h, model.Users, with("b", model.ObservedAccount{Exists: true, Logins: map[string]bool{"b1": true}})),
		map[string]string{"lost": "drop-user"})
	// A failed create took effect.
	expectProblems(t, CheckUsers(h, model.Users, with("d", model.ObservedAccount{Exists: true, Logins: map[string]bool{"d1": true}})),
		map[string]string{"privileges": "failed (must not have taken effect)"})
	// An acknowledged account is gone.
	expectProblems(t, CheckUsers(h, model.Users, with("a", model.ObservedAccount{Logins: map[string]bool{"a1": false, "a2": false}})),
		map[string]string{"lost": "account a is absent"})
	// Both of e's passwords log in: no order of its ops does that.
	expectProblems(t, CheckUsers(h, model.Users, with("e", model.ObservedAccount{Exists: true, Logins: map[string]bool{"e1": true, "e2": true}})),
		map[string]string{"login": "account e"})
	// An account nobody created.
	expectProblems(t, CheckUsers(h, model.Users, with("zz", model.ObservedAccount{Exists: true})),
		map[string]string{"unexpected": "account zz exists"})
}

// A resolution binds later checks: once a check saw e's password change
// taken, a later state with the old password is a violation.
func TestCheckUsersResolutionsBind(t *testing.T) {
	b := newHB()
	u := func(f string, v model.UsersValue, t history.Type) { b.op(1, model.Users, f, v, t) }
	u(model.FCreateUser, model.UsersValue{User: "e", Password: "e1"}, ok)
	u(model.FSetPassword, model.UsersValue{User: "e", Password: "e2"}, info)
	b.crash()
	took := model.UsersState{Accounts: map[string]model.ObservedAccount{"e": {Exists: true, Logins: map[string]bool{"e1": false, "e2": true}}}}
	first := CheckUsers(b.h(), model.Users, took)
	if !first.OK() || len(first.Resolved) != 1 {
		t.Fatalf("first check: want ok with one resolution:\n%s %v", first.Summary(), first.Resolved)
	}
	b.rec.Log(history.CheckerProcess, model.Users, history.FResolve, first.Resolved)
	b.crash()
	old := model.UsersState{Accounts: map[string]model.ObservedAccount{"e": {Exists: true, Logins: map[string]bool{"e1": true, "e2": false}}}}
	expectProblems(t, CheckUsers(b.h(), model.Users, old), map[string]string{"lost": "as before the unknown-outcome (seen taken by an earlier check) op #2 (client 1, set-password"})
}
