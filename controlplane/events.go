package controlplane

import (
	"fmt"
	"strings"
	"time"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// Event is something unexpected a VM's agent reported (the server exited
// on its own, logged a line matching an error pattern, or could not be
// brought back after a boot) or QEMU reported (the VM stopped on a host
// I/O error).
type Event struct {
	VM     string
	BootID string
	Time   time.Time
	// Exactly one is set.
	ServerExited  *pb.ServerExited
	LogLine       *pb.LogLine
	RestoreFailed *pb.RestoreFailed
	// VMFailed: QEMU stopped the VM (ErrHostDiskFull, ErrHostIO).
	VMFailed error
}

func (e Event) String() string {
	switch {
	case e.ServerExited != nil:
		x := e.ServerExited
		how := fmt.Sprintf("exit code %d", x.GetCode())
		if x.GetSignal() != "" {
			how = "signal " + x.GetSignal()
		}
		return fmt.Sprintf("VM %s: server %s (pid %d) exited unexpectedly: %s; last log lines:\n%s",
			e.VM, x.GetKind(), x.GetPid(), how, joinLines(x.GetLogTail()))
	case e.LogLine != nil:
		return fmt.Sprintf("VM %s: server log line matches %q: %s", e.VM, e.LogLine.GetPattern(), e.LogLine.GetText())
	case e.RestoreFailed != nil:
		return fmt.Sprintf("VM %s: the agent could not bring server %s back after boot %s: %s",
			e.VM, e.RestoreFailed.GetKind(), short(e.BootID), e.RestoreFailed.GetReason())
	case e.VMFailed != nil:
		return fmt.Sprintf("VM %s failed: %v", e.VM, e.VMFailed)
	}
	return fmt.Sprintf("VM %s: empty event", e.VM)
}

func joinLines(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  | " + l + "\n")
	}
	return b.String()
}

// onEvent handles an agent event: ServerReady updates the VM's state;
// the others also mark the server of that boot down and go to Events.
func (vm *VM) onEvent(s *session, ev *pb.Event) {
	if vm.sampledStateEvent(s, ev) {
		return
	}
	if vm.isStandbySession(s) {
		// A standby carries no server until it takes over: nothing it
		// says is about the VM's server.
		vm.logf("VM %s: event of a standby's agent ignored: %T", vm.ID, ev.GetKind())
		return
	}
	if k, ok := ev.GetKind().(*pb.Event_ServerReady); ok {
		r := k.ServerReady
		vm.mu.Lock()
		if vm.sess == s {
			vm.readyBoot, vm.readyEventBoot = s.bootID, s.bootID
			vm.readyAt, vm.ready = time.Now(), r
			vm.broadcast()
		}
		vm.mu.Unlock()
		own := "not reported"
		if r.RecoveryNanos != nil {
			own = time.Duration(r.GetRecoveryNanos()).String()
		}
		vm.logf("VM %s: server %s ready (pid %d, guest uptime %.2fs, its own recovery %s)", vm.ID, r.GetKind(), r.GetPid(), r.GetUptimeSeconds(), own)
		return
	}
	e, ok := serverEvent(vm.ID, s, ev)
	if !ok {
		return
	}
	if e.ServerExited != nil || e.RestoreFailed != nil {
		vm.serverDown(s, e.String())
	}
	vm.logf("%s", e)
	select {
	case vm.events <- e:
	default:
		vm.logf("VM %s: event queue full, dropped: %s", vm.ID, e)
	}
}

// serverEvent is what the agent's event ev on s says about a server that
// went wrong (it exited, could not be restored, logged an error line), as
// an Event of vm; false for other events.
func serverEvent(vm string, s *session, ev *pb.Event) (Event, bool) {
	e := Event{VM: vm, BootID: s.bootID, Time: time.Unix(0, ev.GetUnixNanos())}
	switch k := ev.GetKind().(type) {
	case *pb.Event_ServerExited:
		e.ServerExited = k.ServerExited
	case *pb.Event_RestoreFailed:
		e.RestoreFailed = k.RestoreFailed
	case *pb.Event_LogLine:
		e.LogLine = k.LogLine
	default:
		return e, false
	}
	return e, true
}

// serverDown records that the server of s's boot failed, so waiting for
// it to be ready is futile.
func (vm *VM) serverDown(s *session, why string) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.readyBoot == s.bootID {
		vm.readyBoot = ""
	}
	vm.downBoot, vm.downWhy = s.bootID, why
	vm.broadcast()
}
