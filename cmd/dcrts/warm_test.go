package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// greeterEnv makes the test binary a tiny server (TestMain): it appends
// its pid to DATA_DIR/started, listens on 127.0.0.1:PORT and greets every
// connection, like a MySQL server's first packet.
const greeterEnv = "DCRTS_TEST_GREETER"

func TestMain(m *testing.M) {
	if os.Getenv(greeterEnv) != "" {
		greeter(os.Args[1], os.Args[2])
		return
	}
	os.Exit(m.Run())
}

func greeter(port, dataDir string) {
	f, err := os.OpenFile(filepath.Join(dataDir, "started"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		os.Exit(2)
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(3)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(4)
		}
		c.Write([]byte("hello"))
		c.Close()
	}
}

// warmSpec is a provisioning without a start gate whose server is the
// greeter; init makes {data_dir}/db.
func warmSpec(t *testing.T) *pb.ProvisionServer {
	exe, err := os.Executable()
	require.NoError(t, err)
	return &pb.ProvisionServer{Kind: "warmable", Env: []string{greeterEnv + "=1"},
		Server: &pb.ServerDefinition{Name: "warmable",
			Init:  []*pb.Argv{{Args: []string{"mkdir", "{data_dir}/db"}}},
			Start: &pb.Argv{Args: []string{exe, "{port}", "{data_dir}"}}, LogFile: "{data_dir}/server.log"}}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PrepareServer of a spec without a start gate runs the server once on
// the throwaway directory, initialised once, until it greets, and leaves
// no process and nothing on the data disk.
func TestPrepareWarmsAServerWithoutAGate(t *testing.T) {
	m, _ := testManager(t)
	m.warmPort = freePort(t)
	require.NoError(t, os.MkdirAll(m.paths.Data, 0o755))
	spec := warmSpec(t)
	started := func() []string {
		b, err := os.ReadFile(filepath.Join(m.paths.Warm, "data", "started"))
		require.NoError(t, err)
		return strings.Fields(string(b))
	}
	r, err := m.Prepare(t.Context(), proto.CloneOf(spec))
	require.NoError(t, err)
	assert.True(t, r.GetWarmed())
	assert.Zero(t, r.GetPid())
	require.DirExists(t, filepath.Join(m.paths.Warm, "data", "db"), "init ran on the throwaway directory")
	pids := started()
	require.Len(t, pids, 1)
	var pid int
	fmt.Sscan(pids[0], &pid)
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the throwaway server is dead (and reaped)")

	// Again (a restored standby): no second init, one more run.
	require.NoError(t, os.WriteFile(filepath.Join(m.paths.Warm, "data", "db", "kept"), nil, 0o644))
	_, err = m.Prepare(t.Context(), proto.CloneOf(spec))
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(m.paths.Warm, "data", "db", "kept"), "initialised once per spec")
	assert.Len(t, started(), 2)

	// Another spec: initialised anew.
	other := proto.CloneOf(spec)
	other.Env = append(other.Env, "X=1")
	_, err = m.Prepare(t.Context(), other)
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(m.paths.Warm, "data", "db", "kept"))
	assert.Len(t, started(), 1)

	entries, err := os.ReadDir(m.paths.Data)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing on the data disk")
	assert.False(t, m.provisioned())
	m.mu.Lock()
	assert.Nil(t, m.prepared, "no process kept")
	m.mu.Unlock()
}

// A server that exits before it greets fails the warm-up with its output.
func TestWarmUpReportsAServerThatExits(t *testing.T) {
	m, _ := testManager(t)
	m.warmPort = freePort(t)
	spec := &pb.ProvisionServer{Kind: "broken", Server: &pb.ServerDefinition{Name: "broken",
		Start: &pb.Argv{Args: []string{"sh", "-c", "echo no config here; exit 7"}}, LogFile: "{data_dir}/server.log"}}
	_, err := m.Prepare(t.Context(), spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited before it accepted a connection")
	assert.Contains(t, err.Error(), "no config here")
}
