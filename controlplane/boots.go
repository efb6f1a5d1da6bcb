package controlplane

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// bootGuard binds a VM's agent streams to boots. The token alone admits
// nobody for long: whoever learned it (once it was on QEMU's command
// line) could connect first after a start or reset, or beside the agent.
// The rule:
//   - a hello for a new boot is accepted only while the control plane
//     expects one: once after the VM is created and once after every reset
//     it sent (expect). The first such hello consumes the expectation, and
//     its stream receives a fresh per-boot session key (Welcome);
//   - a hello for the boot already seen is a reconnect and must present
//     that boot's session key;
//   - anything else is refused (the caller logs it with the peer address).
//
// A guest that reboots on its own (panic, reboot in the guest) is thus
// refused too: nothing expected that boot, so nothing of it is trusted.
// The guard is protected by the VM's mutex.
type bootGuard struct {
	expecting bool
	boot      string // the boot admitted last
	key       string // that boot's session key
}

// expect admits one new boot.
func (g *bootGuard) expect() { g.expecting = true }

// admit decides on a hello. welcomeKey is set for a new boot: the key its
// first stream must be sent.
func (g *bootGuard) admit(hello *pb.Hello) (welcomeKey string, err error) {
	boot := hello.GetBootId()
	if boot == "" {
		return "", errors.New("hello without a boot id")
	}
	if g.boot != "" && boot == g.boot {
		if subtle.ConstantTimeCompare([]byte(g.key), []byte(hello.GetSessionKey())) != 1 {
			return "", fmt.Errorf("reconnect of boot %s without its session key", short(boot))
		}
		return "", nil
	}
	if !g.expecting {
		return "", fmt.Errorf("hello from boot %s, but no new boot is expected (current boot %s)", short(boot), short(g.boot))
	}
	k := make([]byte, 16)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("session key: %w", err)
	}
	g.expecting, g.boot, g.key = false, boot, hex.EncodeToString(k)
	return g.key, nil
}

// unadmit takes back the admission of s's boot when its Welcome could not
// be sent: its agent never got the key, and would otherwise be refused for
// good. The boot is expected again, so its next keyless hello gets in.
func (vm *VM) unadmit(s *session) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if q := vm.standbys.bySession(s); q != nil {
		g := &q.standbyBoots
		if s.welcomeKey != "" && g.boot == s.bootID && g.key == s.welcomeKey {
			g.expecting, g.boot, g.key = true, "", ""
		}
		return
	}
	if s.welcomeKey != "" && vm.boots.boot == s.bootID && vm.boots.key == s.welcomeKey {
		vm.boots.expecting, vm.boots.boot, vm.boots.key = true, "", ""
	}
}

// ExpectNewBoot lets the next hello of a new boot in, for an agent that
// runs elsewhere (AddAgent) and that its test restarts as a new boot.
// HardReset does this itself.
func (vm *VM) ExpectNewBoot() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	vm.boots.expect()
}
