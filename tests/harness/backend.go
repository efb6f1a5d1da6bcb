package harness

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/crashrig/crashrig/serverkind"
	"github.com/crashrig/crashrig/tests/history"

	"github.com/crashrig/crashrig/tests/model"
	"github.com/crashrig/crashrig/tests/report"
)

// Target says where the server under test answers.
type Target interface {
	// DSN is a go-sql-driver/mysql DSN for a user that may create
	// databases, e.g. "root:pw@tcp(10.0.0.2:3306)/". It must stay valid
	// across crashes.
	DSN() string
}

// Nemesis crashes the server.
type Nemesis interface {
	// Crash kills or hard-resets the machine/process under the server and
	// returns once the server answers again. An error wrapping
	// ErrNotRecovered means the server did not come back (a finding); one
	// wrapping ErrFailedBeforeCrash means the server had already failed
	// since the previous crash, so this crash was not done (a finding
	// about the previous one); any other error is an infrastructure
	// failure.
	Crash(ctx context.Context) (report.CrashReport, error)
}

// ErrNotRecovered is wrapped by Nemesis errors meaning the server failed to
// come back after the crash (refused to start, crashed during recovery).
var ErrNotRecovered = errors.New("server did not recover after crash")

// ErrFailedBeforeCrash is wrapped by Nemesis errors meaning the server
// reported a failure (it exited, or logged an error line) while it ran
// since the previous crash; the crash asked for was not done.
var ErrFailedBeforeCrash = errors.New("server failed while running")

// Instance is a provisioned server: a Target, its Nemesis, and cleanup.
type Instance interface {
	Target
	Nemesis
	// Close stops the server and releases everything Start acquired.
	Close() error
}

// Spec is what a backend must provision for one run.
type Spec struct {
	FS     FSConfig
	Flavor model.Flavor
	// Server is the target's spec (-crash.target).
	Server  *serverkind.Spec
	Fault   string        // TEST-ONLY fault to plant (bundled server)
	GCPause time.Duration // TEST-ONLY -unsafe-gc-pause (bundled server)
	Seed    uint64        // for the nemesis' own random choices
	// IOFaults asks for a data disk the nemesis can fail
	// (IOFaultInjector).
	IOFaults bool
	// Nemesis is the crash kind (Nemeses): reset, powercut or iofault.
	Nemesis string
	// States is how many extra crash states a power cut checks
	// (-crash.states); a backend may set up for them (the vm backend boots
	// a sampling machine).
	States int
}

// Backend provisions servers.
type Backend interface {
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// AckPositioner is implemented by instances whose crashes cut the power:
// AckPositions returns the function that reads the data disk's write-log
// position, which the history records with every invoke and ack (nil when
// the instance's crashes are not power cuts).
type AckPositioner interface {
	AckPositions() func() (history.LogPos, error)
}

// StateSampler is implemented by a Nemesis whose crashes are power cuts
// that can check extra crash states (-crash.states): within one crash,
// before booting the state the run continues on, it boots up to k more
// states of the same power cut, calls check for each while its server
// answers, and throws each away. An error from check ends the crash with
// it.
type StateSampler interface {
	CrashSampling(ctx context.Context, k int, check func(ctx context.Context, s SampledState) error) (report.CrashReport, error)
}

// SampledState is one extra crash state of a power cut.
type SampledState struct {
	// DSN reaches its server; the workload clients never do.
	DSN string
	// Cut is its cut point.
	Cut history.LogPos
	// Choices are its crashstate.Choices (JSON), for the history.
	Choices json.RawMessage
}

// CrashPreparer is implemented by a Nemesis that needs something ready
// before it can crash (the standby restart: a standby machine to take
// over). The harness calls it in every cycle during the wait for the
// crash, with the workloads running, and crashes once both are over, so
// that what it waits for is not counted in the crash's recovery; a slow
// host then shows as fewer cycles, never as a slow recovery.
type CrashPreparer interface {
	PrepareCrash(ctx context.Context) error
}

// ArtifactCollector is implemented by instances that can save their own
// evidence (server logs, console output) into dir when a run fails.
type ArtifactCollector interface {
	CollectArtifacts(ctx context.Context, dir string) error
}
