package serverkind

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// minimalSpec is the least a spec needs.
const minimalSpec = `
name = "mydb"
[server]
start = ["mydbd", "--datadir={data_dir}/db", "--port={port}"]
[admin]
user = "root"
[account]
create = ["CREATE USER {user_sql}@'%' IDENTIFIED BY {password_sql}"]
`

func TestBuiltinSpecs(t *testing.T) {
	for _, name := range Names() {
		s, err := Builtin(name)
		require.NoError(t, err)
		assert.Equal(t, name, s.Name)
		assert.NotEmpty(t, s.ErrorLogPatterns, "%s: a server without trouble patterns fails no run on its log", name)
	}
	m, _ := Builtin(MariaDB)
	assert.Equal(t, []string{"mariadb-server"}, m.Install.Packages)
	assert.Equal(t, "OPTIMIZE TABLE a, b", m.GCStatement([]string{"a", "b"}))
	assert.Equal(t, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", m.IsolationStatement("SERIALIZABLE"))
	b, _ := Builtin(Bundled)
	assert.True(t, b.Install.Upload)
	assert.Equal(t, "CALL crashrig_gc()", b.GCStatement(nil))
}

func TestDecodeSpecMinimal(t *testing.T) {
	s, err := DecodeSpec("mydb.toml", []byte(minimalSpec))
	require.NoError(t, err)
	assert.Equal(t, "mydb", s.Name)
	assert.NoError(t, s.Supports("set", false, false))
	assert.ErrorContains(t, s.Supports("gc", false, false), "no GC statement")
	assert.ErrorContains(t, s.Supports("remotes", false, true), "runs only where the spec lists it")
	s.Limits.NoTransactions = true
	assert.ErrorContains(t, s.Supports("bank", true, false), "no explicit transactions")
	s.Workloads = []string{"set", "remotes"}
	assert.ErrorContains(t, s.Supports("register", false, false), `does not support workload "register"`)
	assert.NoError(t, s.Supports("remotes", false, true))

	k := specKind{def: s.Definition()}
	cmd := k.Command(Instance{DataDir: "/data", Spec: &pb.ProvisionServer{}})
	assert.Equal(t, []string{"mydbd", "--datadir=/data/db", "--port=3306"}, cmd.Args)
	assert.Equal(t, 5*time.Minute, k.ReadyTimeout())
}

func TestDecodeSpecBad(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string // substrings of the error
	}{
		{"unknown key", minimalSpec + "\n[server2]\nx = 1\n", []string{"bad.toml", `unknown key "server2`}},
		{"unknown nested key", "name = \"x\"\n[server]\nstrat = [\"a\"]\n", []string{"bad.toml", `"server.strat"`, "line 3"}},
		{"wrong type", "name = 3\n", []string{"bad.toml", `"name"`, "string"}},
		{"wrong element type", "name = \"x\"\n[server]\nstart = [1]\n", []string{"bad.toml", "server.start"}},
		{"bad duration", minimalSpec + "\n[server2]\n", []string{"bad.toml"}},
		{"no name", "[server]\nstart=[\"a\"]\n", []string{"bad.toml", `key "name"`}},
		{"no start", "name = \"x\"\n", []string{`key "server.start"`, "foreground"}},
		{"no admin", "name = \"x\"\n[server]\nstart=[\"a\"]\n", []string{`key "admin.user"`}},
		{"unknown placeholder", `name = "x"
[server]
start = ["a", "--dir={datadir}"]
[admin]
user = "root"
[account]
create = ["CREATE USER {user_sql}"]
`, []string{`key "server.start[1]"`, "unknown placeholder {datadir}", "{data_dir}"}},
		{"binary without upload", `name = "x"
[server]
start = ["{binary}"]
[admin]
user = "root"
[account]
create = ["CREATE USER {user_sql}"]
`, []string{`key "server.start"`, "install.upload"}},
		{"gc placeholder", minimalSpec + "gc2 = 1\n", []string{"unknown key"}},
		{"bad pattern", "error_log_patterns = ['(']\n" + minimalSpec, []string{`key "error_log_patterns[0]"`, "regular expression"}},
		{"bad package", minimalSpec + "[install]\npackages = [\"libicu72; rm\"]\n", []string{`key "install.packages[0]"`}},
		{"recovery half", minimalSpec + "[recovery]\nbegin = 'x'\n", []string{`key "recovery"`, "go together"}},
		{"env", "name = \"x\"\n[server]\nstart=[\"a\"]\nenv=[\"NOEQUALS\"]\n[admin]\nuser=\"r\"\n[account]\ncreate=[\"c\"]\n", []string{`key "server.env[0]"`, "NAME=VALUE"}},
		{"ready timeout", minimalSpec + "ready_timeout = \"soon\"\n", []string{"unknown key"}},
		{"start gate without args", minimalSpec + "[server.start_gate]\nrelease = \"stdin-line\"\n", []string{"bad.toml", `key "server.start_gate.args"`}},
		{"start gate release", minimalSpec + "[server.start_gate]\nargs = [\"-gate\"]\nrelease = \"signal\"\n", []string{`key "server.start_gate.release"`, "stdin-line", `"signal"`}},
		{"start gate unknown key", minimalSpec + "[server.start_gate]\nargs = [\"-gate\"]\nrelease = \"stdin-line\"\nport = 1\n", []string{"bad.toml", `"server.start_gate.port"`}},
		{"start gate args type", minimalSpec + "[server.start_gate]\nargs = \"-gate\"\n", []string{"bad.toml", "server.start_gate.args"}},
		{"start gate placeholder", minimalSpec + "[server.start_gate]\nargs = [\"-gate={gate}\"]\nrelease = \"stdin-line\"\n", []string{`key "server.start_gate.args"`, "unknown placeholder {gate}"}},
		{"ready timeout type", "name = \"x\"\n[server]\nstart=[\"a\"]\nready_timeout = \"soon\"\n", []string{"bad.toml", "server.ready_timeout", "duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSpec("bad.toml", []byte(tc.spec))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mydb.toml")
	require.NoError(t, os.WriteFile(path, []byte(minimalSpec+"[install]\nupload = true\nbinary = \"bin/mydbd\"\n"), 0o644))
	s, err := LoadTarget(path)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "bin/mydbd"), s.Install.Binary, "relative to the spec file")
	assert.Equal(t, path, s.File())
	_, err = LoadTarget(filepath.Join(dir, "missing.toml"))
	assert.ErrorContains(t, err, "missing.toml")
	s, err = LoadTarget(MariaDB)
	require.NoError(t, err)
	assert.Equal(t, MariaDB, s.Name)
	_, err = LoadTarget("nosuch")
	assert.ErrorContains(t, err, "PATH.toml")
}

// A spec's definition survives the trip to the agent: the guest's Kind
// renders files, env and the admin DSN from it.
func TestDefinitionDrivesTheGuestKind(t *testing.T) {
	s, err := DecodeSpec("x.toml", []byte(`name = "x"
[server]
env = ["HOME={state_dir}/home"]
start = ["x", "{config}", "--last"]
isolation_config = "--isolation={isolation}"
[[server.files]]
path = "{state_dir}/x.cnf"
content = "port={port}\n{config}\n"
mode = 0o600
[admin]
user = "root"
password = "{root_password}"
socket = "{data_dir}/x.sock"
[account]
create = ["CREATE USER {user_sql}"]
`))
	require.NoError(t, err)
	k, err := KindOf(&pb.ProvisionServer{Kind: "ignored", Server: s.Definition()})
	require.NoError(t, err)
	in := Instance{DataDir: "/d", StateDir: "/s", Spec: &pb.ProvisionServer{RootPassword: "pw",
		TransactionIsolation: "SERIALIZABLE", Config: []string{"--a", "--b"}}}
	assert.Equal(t, []string{"x", "--isolation=SERIALIZABLE", "--a", "--b", "--last"}, k.Command(in).Args)
	assert.Contains(t, k.Command(in).Env, "HOME=/s/home")
	assert.Equal(t, map[string]string{"/s/x.cnf": "port=3306\n--isolation=SERIALIZABLE\n--a\n--b\n"}, k.(specKind).Files(in))
	assert.Equal(t, "root:pw@unix(/d/x.sock)/", k.AdminDSN(in))
	assert.Contains(t, k.DataPaths(in), "/s/x.cnf")

	_, err = KindOf(&pb.ProvisionServer{Server: &pb.ServerDefinition{Name: "x"}})
	assert.ErrorContains(t, err, "start command")
	k, err = KindOf(&pb.ProvisionServer{Kind: Bundled})
	require.NoError(t, err)
	assert.Equal(t, Bundled, k.Name())
}

// The start gate's arguments go right after the program; a spec without a
// gate has no gated command.
func TestGatedCommand(t *testing.T) {
	s, err := DecodeSpec("x.toml", []byte(minimalSpec+"[server.start_gate]\nargs = [\"-gate\", \"{data_dir}/ignored\"]\nrelease = \"stdin-line\"\n"))
	require.NoError(t, err)
	in := Instance{DataDir: "/data", Spec: &pb.ProvisionServer{}}
	k := specKind{def: s.Definition()}
	cmd, release, ok := k.GatedCommand(in)
	require.True(t, ok)
	assert.Equal(t, []string{"mydbd", "-gate", "/data/ignored", "--datadir=/data/db", "--port=3306"}, cmd.Args)
	assert.Equal(t, pb.GateRelease_GATE_RELEASE_STDIN_LINE, release)

	s, err = DecodeSpec("x.toml", []byte(minimalSpec))
	require.NoError(t, err)
	_, _, ok = specKind{def: s.Definition()}.GatedCommand(in)
	assert.False(t, ok)

	b, err := Lookup(Bundled)
	require.NoError(t, err)
	cmd, _, ok = b.(Gated).GatedCommand(Instance{DataDir: "/data", Binary: "/bin/srv", Spec: &pb.ProvisionServer{RootPassword: "pw"}})
	require.True(t, ok, "the bundled server can be started ahead")
	assert.Equal(t, []string{"/bin/srv", "-start-gate=stdin", "-start-gate-ready-fd=3", "-data-dir", "/data/crashrig"}, cmd.Args[:5])
	m, err := Lookup(MariaDB)
	require.NoError(t, err)
	_, _, ok = m.(Gated).GatedCommand(Instance{DataDir: "/data", Spec: &pb.ProvisionServer{}})
	assert.False(t, ok, "other specs do not change")
}

func TestDurationRoundTripsThroughJSON(t *testing.T) {
	type wrap struct{ D Duration }
	b, err := json.Marshal(wrap{Duration(90 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"D":"1m30s"}` {
		t.Fatalf("marshal = %s", b)
	}
	for _, in := range []string{string(b), `{"D":90000000000}`} {
		var w wrap
		if err := json.Unmarshal([]byte(in), &w); err != nil || time.Duration(w.D) != 90*time.Second {
			t.Fatalf("unmarshal %s = %v, %v (a saved run's spec must read back for -crash.replay)", in, time.Duration(w.D), err)
		}
	}
}
