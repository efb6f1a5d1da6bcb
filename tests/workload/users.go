package workload

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/crashrig/crashrig/tests/history"
	"github.com/crashrig/crashrig/tests/model"
)

// users runs account lifecycles (model.UsersValue): each client creates
// accounts of its own and grants, revokes, changes passwords and drops
// them, one statement at a time, so every account's ops are ordered. An
// account whose op is not acknowledged is uncertain: the client's next
// op on it is DROP USER IF EXISTS (repeated until acknowledged), which
// ends it whatever the unknown op did. Snapshot reads mysql.user and SHOW
// GRANTS and logs in as the accounts with every password they were given
// (checker.CheckUsers).
type users struct {
	opts Options
	// dsn is the administrative DSN the harness connects with (UseDSN);
	// logins replace its user and password.
	dsn string

	mu sync.Mutex
	// Per client index: next account number and the accounts it drives.
	seq  map[int]int
	live map[int][]*userAccount
	// tracked: every account a client made, by name, with the passwords
	// it was given, for the snapshot's logins.
	tracked map[string]*trackedAccount
}

// userAccount is a client's view of one of its accounts.
type userAccount struct {
	name  string
	acked model.Account // the state its acknowledged ops leave
	// uncertain: an op was not acknowledged; only DROP USER IF EXISTS
	// follows.
	uncertain bool
	passwords int // passwords given so far, for unique new ones
}

type trackedAccount struct {
	passwords []string // every password sent, oldest first
	dropped   bool     // a DROP USER was acknowledged
	retired   bool     // dropped, and a snapshot saw it gone: logins no longer tried
}

// DSNUser is a workload that logs in as accounts of its own: the harness
// gives it the DSN of the target's administrative account before Setup.
type DSNUser interface {
	UseDSN(dsn string)
}

var _ DSNUser = (*users)(nil)

func newUsers(opts Options) *users {
	return &users{opts: opts, seq: map[int]int{}, live: map[int][]*userAccount{}, tracked: map[string]*trackedAccount{}}
}

const (
	// usersPrefix starts the name of every account the workload makes.
	usersPrefix = "crashrig_u"
	usersTable  = model.UsersDB + "." + model.UsersTable
	// maxLiveAccounts is how many accounts a client drives at once.
	maxLiveAccounts = 3
	// loginTimeout bounds one login attempt of a snapshot.
	loginTimeout = 10 * time.Second
)

func (w *users) Name() string              { return model.Users }
func (w *users) Clients(requested int) int { return requested }
func (w *users) UseDSN(dsn string)         { w.dsn = dsn }

// grantProbe is the account Setup grants to once, outside usersPrefix.
const grantProbe = "'crashrig_grantprobe'@'%'"

// Setup creates the table the table-level grants name (MySQL and MariaDB
// refuse a grant on a table that does not exist), then checks that the
// workloads' account may grant at all: without GRANT OPTION every GRANT
// would fail and the run would prove nothing.
func (w *users) Setup(ctx context.Context, db *sql.DB, rec *history.Recorder) error {
	if err := setupExec(ctx, db, rec, w.Name(), model.FSetupTable, nil, "CREATE TABLE "+usersTable+" (k INT PRIMARY KEY)"); err != nil {
		return err
	}
	if err := setupExec(ctx, db, rec, w.Name(), "probe-create-user", nil, "CREATE USER "+grantProbe+" IDENTIFIED BY 'probe'"); err != nil {
		return fmt.Errorf("%w (the account the workloads log in as needs CREATE USER)", err)
	}
	if err := setupExec(ctx, db, rec, w.Name(), "probe-grant", nil, "GRANT SELECT ON "+usersTable+" TO "+grantProbe); err != nil {
		return fmt.Errorf("%w (the account the workloads log in as needs GRANT OPTION)", err)
	}
	return setupExec(ctx, db, rec, w.Name(), "probe-drop-user", nil, "DROP USER "+grantProbe)
}

func (w *users) Run(ctx context.Context, c *Client) {
	for c.Think(ctx) {
		a, f, v := w.next(c)
		t := c.Exec(ctx, f, v, w.statement(f, v))
		if t == "" {
			return
		}
		w.mu.Lock()
		switch {
		case t == history.OK:
			a.acked, a.uncertain = a.acked.Apply(f, v), false
			if f == model.FDropUser {
				w.tracked[a.name].dropped = true
				w.live[c.Index] = slices.DeleteFunc(w.live[c.Index], func(x *userAccount) bool { return x == a })
			}
		default:
			// A failed op should have changed nothing, but the account is
			// ended all the same: the checker judges the fail.
			a.uncertain = true
		}
		w.mu.Unlock()
	}
}

// next chooses client c's next op: end an uncertain account, else create
// one (up to maxLiveAccounts), else change one of its accounts.
func (w *users) next(c *Client) (*userAccount, string, model.UsersValue) {
	w.mu.Lock()
	defer w.mu.Unlock()
	live := w.live[c.Index]
	for _, a := range live {
		if a.uncertain {
			return a, model.FDropUser, model.UsersValue{User: a.name, IfExists: true}
		}
	}
	if len(live) == 0 || (len(live) < maxLiveAccounts && c.RNG.Float64() < 0.3) {
		name := fmt.Sprintf("%s%d_%d", usersPrefix, c.ID, w.seq[c.Index])
		w.seq[c.Index]++
		a := &userAccount{name: name}
		w.live[c.Index] = append(live, a)
		w.tracked[name] = &trackedAccount{}
		return a, model.FCreateUser, model.UsersValue{User: name, Password: w.newPassword(a)}
	}
	a := live[c.RNG.IntN(len(live))]
	var held, notHeld []string
	for _, p := range model.UserPrivileges {
		for _, o := range model.UserObjects {
			if g := model.Grant(p, o); slices.Contains(a.acked.Grants, g) {
				held = append(held, g)
			} else {
				notHeld = append(notHeld, g)
			}
		}
	}
	switch r := c.RNG.Float64(); {
	case r < 0.4 && len(notHeld) > 0:
		return a, model.FGrant, model.UsersValue{User: a.name, Grant: notHeld[c.RNG.IntN(len(notHeld))]}
	case r < 0.65 && len(held) > 0:
		return a, model.FRevoke, model.UsersValue{User: a.name, Grant: held[c.RNG.IntN(len(held))]}
	case r < 0.92:
		return a, model.FSetPassword, model.UsersValue{User: a.name, Password: w.newPassword(a)}
	default:
		return a, model.FDropUser, model.UsersValue{User: a.name}
	}
}

// newPassword returns a's next password and tracks it (before the op is
// sent: an unknown outcome may have set it). Callers hold w.mu.
func (w *users) newPassword(a *userAccount) string {
	a.passwords++
	pw := fmt.Sprintf("pw-%s-%d", a.name, a.passwords)
	t := w.tracked[a.name]
	t.passwords = append(t.passwords, pw)
	return pw
}

// statement is the SQL of op f. Account names and passwords are the
// workload's own, made of [a-z0-9_-], so they are quoted as they are.
func (w *users) statement(f string, v model.UsersValue) string {
	acct := "'" + v.User + "'@'%'"
	switch f {
	case model.FCreateUser:
		return "CREATE USER " + acct + " IDENTIFIED BY '" + v.Password + "'"
	case model.FGrant:
		return "GRANT " + v.Grant + " TO " + acct
	case model.FRevoke:
		priv, obj, _ := strings.Cut(v.Grant, " ON ")
		return "REVOKE " + priv + " ON " + obj + " FROM " + acct
	case model.FSetPassword:
		// MariaDB's form, which the bundled server takes too (it runs it as
		// ALTER USER). MySQL 8 has no PASSWORD(): other servers get the
		// ALTER USER that means the same.
		if w.opts.Flavor == model.MariaDB || w.opts.Flavor == model.Bundled {
			return "SET PASSWORD FOR " + acct + " = PASSWORD('" + v.Password + "')"
		}
		return "ALTER USER " + acct + " IDENTIFIED BY '" + v.Password + "'"
	case model.FDropUser:
		if v.IfExists {
			return "DROP USER IF EXISTS " + acct
		}
		return "DROP USER " + acct
	}
	panic("users: unknown op " + f)
}

func (w *users) Snapshot(ctx context.Context, db *sql.DB) (json.RawMessage, error) {
	st := model.UsersState{Accounts: map[string]model.ObservedAccount{}}
	names, err := queryStrings(ctx, db, "SELECT User FROM mysql.user WHERE Host = '%'")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, usersPrefix) {
			continue
		}
		lines, err := queryStrings(ctx, db, "SHOW GRANTS FOR '"+name+"'@'%'")
		if err != nil {
			return nil, err
		}
		st.Accounts[name] = model.ObservedAccount{Exists: true, Grants: parseGrants(lines)}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, t := range w.tracked {
		if t.retired {
			continue
		}
		o := st.Accounts[name]
		o.Logins = map[string]bool{}
		pws := t.passwords
		if t.dropped && !o.Exists {
			// Gone, as it should be: its last two passwords (the current
			// one, whichever an unknown change left) show that the account
			// is gone from authentication too. Older ones add only time:
			// many accounts are dropped between two checks.
			pws = pws[max(0, len(pws)-2):]
		}
		for _, pw := range pws {
			ok, err := w.login(ctx, name, pw)
			if err != nil {
				return nil, err
			}
			o.Logins[pw] = ok
		}
		st.Accounts[name] = o
		if t.dropped && !o.Exists && !anyLogin(o.Logins) {
			t.retired = true
		}
	}
	return marshal(st)
}

func anyLogin(logins map[string]bool) bool {
	for _, ok := range logins {
		if ok {
			return true
		}
	}
	return false
}

// parseGrants turns SHOW GRANTS lines ("GRANT SELECT, INSERT ON
// `crashrig`.* TO `u`@`%` ...") into sorted model.Grant names, leaving out
// USAGE ON *.*. A line it cannot read is kept whole, so it fails the
// comparison rather than vanishing.
func parseGrants(lines []string) []string {
	var out []string
	for _, line := range lines {
		rest, ok1 := strings.CutPrefix(line, "GRANT ")
		privs, rest, ok2 := strings.Cut(rest, " ON ")
		obj, _, ok3 := strings.Cut(rest, " TO ")
		if !ok1 || !ok2 || !ok3 {
			out = append(out, line)
			continue
		}
		obj = strings.ReplaceAll(obj, "`", "")
		if privs == "USAGE" && obj == "*.*" {
			continue
		}
		for _, p := range strings.Split(privs, ",") {
			out = append(out, model.Grant(strings.TrimSpace(p), obj))
		}
	}
	sort.Strings(out)
	return out
}

// login reports whether user can log in with password: true when the
// server accepts, false when it refuses with 1045 (access denied). Other
// errors (the connection itself failing) are retried a few times, then
// returned.
func (w *users) login(ctx context.Context, user, password string) (bool, error) {
	if w.dsn == "" {
		return false, errors.New("users workload: no DSN to log in with (the harness must call UseDSN)")
	}
	cfg, err := mysql.ParseDSN(w.dsn)
	if err != nil {
		return false, fmt.Errorf("parse DSN: %w", err)
	}
	cfg.User, cfg.Passwd, cfg.DBName = user, password, ""
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = loginTimeout, loginTimeout, loginTimeout
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return false, fmt.Errorf("login connector: %w", err)
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, loginTimeout)
		c, err := conn.Connect(lctx)
		cancel()
		if err == nil {
			_ = c.Close()
			return true, nil
		}
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1045 {
			return false, nil
		}
		last = err
		if Sleep(ctx, 200*time.Millisecond) != nil {
			break
		}
	}
	return false, fmt.Errorf("log in as %s: %w", user, last)
}
