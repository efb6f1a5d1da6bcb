package controlplane

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// idleStream is an agent stream that accepts commands and never sends.
type idleStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s idleStream) Context() context.Context        { return s.ctx }
func (s idleStream) Send(*pb.Command) error          { return nil }
func (s idleStream) Recv() (*pb.AgentMessage, error) { <-s.ctx.Done(); return nil, s.ctx.Err() }

// A busy host can let the new boot's hello land between the QMP ack and
// the retirement of the old boot's stream (which already broke): the reset
// must retire only the boot it wiped out, or its own boot loses the
// Welcome and is refused for good.
func TestResetRetiresOnlyTheOldBoot(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("r")
	require.NoError(t, err)
	st := idleStream{ctx: t.Context()}
	old, err := vm.attach(st, &pb.Hello{BootId: "boot-A"})
	require.NoError(t, err)
	vm.detach(old) // the old stream broke during the reset

	vm.ExpectNewBoot() // HardReset, before system_reset
	next, err := vm.attach(st, &pb.Hello{BootId: "boot-B"})
	require.NoError(t, err, "the reset's boot is admitted")
	vm.retireBoot("boot-A", errReset) // HardReset, after the QMP ack
	assert.False(t, next.isRetired(), "the new boot's stream must live on")
}

// A Welcome that could not be sent undoes the admission: the boot's agent
// reconnects without a key and is let in once more.
func TestLostWelcomeDoesNotLockTheBootOut(t *testing.T) {
	cp, _ := newTestCP(t)
	vm, err := cp.AddAgent("r")
	require.NoError(t, err)
	st := idleStream{ctx: t.Context()}
	s, err := vm.attach(st, &pb.Hello{BootId: "boot-A"})
	require.NoError(t, err)
	require.NotEmpty(t, s.welcomeKey)
	vm.unadmit(s)
	vm.detach(s)
	again, err := vm.attach(st, &pb.Hello{BootId: "boot-A"})
	require.NoError(t, err, "the boot whose Welcome was lost gets in again")
	assert.NotEmpty(t, again.welcomeKey)
	assert.NotEqual(t, s.welcomeKey, again.welcomeKey)
}
