package checker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// maxUnknownPerAccount bounds the outcomes enumerated per account (2^n
// orders). The workload sends at most one unknown op on an account before
// ending it, plus unknown DROP USER IF EXISTS retries.
const maxUnknownPerAccount = 8

// CheckUsers checks every account the users workload touched against its
// ops, which one client sent in order: the account must be exactly in the
// state its acknowledged ops leave (exists or not, grants, the password a
// login succeeds with, every other password refused), where each op of
// unknown outcome may have taken effect or not. A failed op must not have
// taken effect. An account that matches only with an unknown op taken (or
// only without it, once the crash that ended it is past) settles that op
// (a resolve entry). Accounts of the workload's name prefix that no op
// created are reported.
func CheckUsers(h history.History, workload string, st model.UsersState) Result {
	b := newBuilder(workload, h)
	ops, vals, err := opsOf[model.UsersValue](h, workload)
	if err != nil {
		b.problem("history", "%v", err)
		return b.res
	}
	type userOp struct {
		op *history.Op
		v  model.UsersValue
	}
	perUser := map[string][]userOp{}
	for i := range ops {
		op := &ops[i]
		if op.Process == history.SetupProcess {
			continue
		}
		b.res.Stats[op.F+"-"+string(op.Type)]++
		perUser[vals[i].User] = append(perUser[vals[i].User], userOp{op, vals[i]})
	}
	names := make([]string, 0, len(perUser))
	for name := range perUser {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		uops := perUser[name]
		seq := make([]*history.Op, len(uops))
		vs := make([]model.UsersValue, len(uops))
		for i, u := range uops {
			seq[i], vs[i] = u.op, u.v
		}
		b.checkAccount(name, seq, vs, st.Accounts[name])
	}
	var extra []string
	for name, o := range st.Accounts {
		if _, ok := perUser[name]; !ok && o.Exists {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		b.problem("unexpected", "account %s exists (%s), but no client ever created it", name, describeObserved(st.Accounts[name]))
	}
	b.res.Stats["accounts"] = len(names)
	return b.res
}

// checkAccount judges one account's observed state against its ops.
func (b *builder) checkAccount(name string, ops []*history.Op, vals []model.UsersValue, got model.ObservedAccount) {
	// The ops whose outcome is open: info ops no earlier check settled.
	took := make([]bool, len(ops)) // settled or acknowledged effect
	var open []int
	for i, op := range ops {
		t, _ := b.outcome(op, false, false) // settled earlier, or still info
		switch t {
		case history.OK:
			took[i] = true
		case history.Info:
			open = append(open, i)
		}
	}
	if len(open) > maxUnknownPerAccount {
		open = open[len(open)-maxUnknownPerAccount:] // older ones count as not taken
	}
	fold := func(mask int) model.Account {
		var a model.Account
		eff := 0
		for i := range ops {
			apply := took[i]
			if eff < len(open) && open[eff] == i {
				apply = mask&(1<<eff) != 0
				eff++
			}
			if apply {
				a = a.Apply(ops[i].F, vals[i])
			}
		}
		return a
	}
	var matching []int
	expected := map[string]model.Account{}
	for mask := 0; mask < 1<<len(open); mask++ {
		a := fold(mask)
		expected[a.Key()] = a
		if got.Matches(a) {
			matching = append(matching, mask)
		}
	}
	if len(matching) > 0 {
		for j, i := range open {
			var with, without bool
			for _, m := range matching {
				if m&(1<<j) != 0 {
					with = true
				} else {
					without = true
				}
			}
			op := ops[i]
			switch {
			case with && !without:
				b.resolve(op, true)
			case without && !with && op.Complete != nil && op.Complete.Index < b.lastCrash:
				// Ended by a crash that is now past: it never will.
				b.resolve(op, false)
			}
		}
		return
	}
	b.problem(usersKind(got, ops, vals, took, expected), "%s", b.describeAccountProblem(name, ops, vals, took, got, expected))
}

// usersKind names the violation: "lost" when the account is as an
// earlier acknowledged prefix left it, "login" when its privileges match
// but a login does not, else "privileges".
func usersKind(got model.ObservedAccount, ops []*history.Op, vals []model.UsersValue, took []bool, expected map[string]model.Account) string {
	if _, ok := lostUsersOp(got, ops, vals, took); ok {
		return "lost"
	}
	noLogins := got
	noLogins.Logins = nil
	for _, a := range expected {
		if noLogins.Matches(a) {
			return "login"
		}
	}
	return "privileges"
}

// lostUsersOp finds the latest prefix of the ops that took effect
// (acknowledged, or seen taken by an earlier check) whose state got
// matches, returning the index of the first such op after it: the op the
// crash lost.
func lostUsersOp(got model.ObservedAccount, ops []*history.Op, vals []model.UsersValue, took []bool) (int, bool) {
	var states []model.Account // after each effective op
	var idx []int
	var a model.Account
	for i := range ops {
		if took[i] {
			a = a.Apply(ops[i].F, vals[i])
			states = append(states, a)
			idx = append(idx, i)
		}
	}
	for k := len(states) - 2; k >= -1; k-- {
		prev := model.Account{}
		if k >= 0 {
			prev = states[k]
		}
		if got.Matches(prev) {
			return idx[k+1], true
		}
	}
	return 0, false
}

func (b *builder) describeAccountProblem(name string, ops []*history.Op, vals []model.UsersValue, took []bool, got model.ObservedAccount, expected map[string]model.Account) string {
	var want []string
	for k := range expected {
		want = append(want, k)
	}
	sort.Strings(want)
	var s strings.Builder
	fmt.Fprintf(&s, "account %s is %s, but its ops leave it %s", name, describeObserved(got), strings.Join(want, " or "))
	if i, ok := lostUsersOp(got, ops, vals, took); ok {
		how := "acknowledged"
		if ops[i].Type != history.OK {
			how = "unknown-outcome (seen taken by an earlier check)"
		}
		fmt.Fprintf(&s, "; it is as before the %s %s, which was lost", how, b.ctx.Op(*ops[i]))
	}
	for _, op := range ops {
		if op.Type == history.Fail {
			fmt.Fprintf(&s, "; failed (must not have taken effect): %s", b.ctx.Op(*op))
		}
	}
	// The account's last ops, which most likely decide.
	from := max(0, len(ops)-3)
	for _, op := range ops[from:] {
		fmt.Fprintf(&s, "; %s", b.ctx.Op(*op))
	}
	return s.String()
}

func describeObserved(o model.ObservedAccount) string {
	var s strings.Builder
	if o.Exists {
		fmt.Fprintf(&s, "present with grants [%s]", strings.Join(o.Grants, "; "))
	} else {
		s.WriteString("absent from mysql.user")
	}
	pws := make([]string, 0, len(o.Logins))
	for pw := range o.Logins {
		pws = append(pws, pw)
	}
	sort.Strings(pws)
	var ok, refused []string
	for _, pw := range pws {
		if o.Logins[pw] {
			ok = append(ok, pw)
		} else {
			refused = append(refused, pw)
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(&s, ", logins succeed with %q", ok)
	}
	if len(refused) > 0 {
		fmt.Fprintf(&s, ", logins refused with %q", refused)
	}
	return s.String()
}
