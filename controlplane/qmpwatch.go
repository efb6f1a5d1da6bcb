package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// ErrHostDiskFull is wrapped by the error a VM fails with when QEMU could
// not write a virtual disk's host file for lack of space.
var ErrHostDiskFull = errors.New("host disk full")

// ErrHostIO is wrapped by the error a VM fails with on any other host I/O
// error QEMU reports for a virtual disk.
var ErrHostIO = errors.New("host I/O error under a virtual disk")

// qmpRunner runs one QMP command (qmp.SocketMonitor in production).
type qmpRunner interface {
	Run(cmd []byte) ([]byte, error)
}

// qmpWatch follows QEMU's QMP events for the VM's lifetime. QEMU stops the
// guest when a virtio-blk write hits ENOSPC on the host (werror=enospc,
// the default, kept so that nothing is lost silently); without a watcher
// nothing would notice, and the run would end on a heartbeat or deadline
// with no word of the disk.
type qmpWatch struct {
	wg sync.WaitGroup
}

// watchQMP subscribes to the QMP events of q, a machine of the VM.
func (vm *VM) watchQMP(q *qemuVM) (*qmpWatch, error) {
	events, err := q.mon.Events(context.Background())
	if err != nil {
		return nil, err
	}
	return vm.followQMP(events, q.mon, q), nil
}

// followQMP reads events until the channel closes (the monitor
// disconnected). It never blocks on a QMP command itself: the monitor
// delivers events and command replies on one connection, so a command run
// by the event reader would wait for a reply queued behind the next event.
// A failure of machine q fails the VM only while q runs it (nil: always):
// a standby's, or a crashed machine's, is no failure of the VM.
func (vm *VM) followQMP(events <-chan qmp.Event, mon qmpRunner, q *qemuVM) *qmpWatch {
	w := &qmpWatch{}
	todo := make(chan qmp.Event, 16)
	w.wg.Go(func() {
		defer close(todo)
		for e := range events {
			switch e.Event {
			case "BLOCK_IO_ERROR", "STOP":
				select {
				case todo <- e:
				default: // one failure is enough; the VM has failed already
				}
			}
		}
	})
	w.wg.Go(func() {
		for e := range todo {
			if err := qmpFailure(e, mon); err != nil && (q == nil || vm.machine() == q) {
				vm.fail(err)
			}
		}
	})
	return w
}

// wait waits for the watcher to end (after the monitor disconnected).
func (w *qmpWatch) wait() { w.wg.Wait() }

// qmpFailure turns an event into the VM's failure (nil: not a failure).
func qmpFailure(e qmp.Event, mon qmpRunner) error {
	switch e.Event {
	case "BLOCK_IO_ERROR":
		str := func(k string) string { s, _ := e.Data[k].(string); return s }
		device, node := str("device"), str("node-name")
		where := fmt.Sprintf("drive %q", device)
		if device == "" {
			where = fmt.Sprintf("node %q", node)
		}
		if file := blockFile(mon, device, node); file != "" {
			where += " (host file " + file + ")"
		}
		what := fmt.Sprintf("QEMU: %s error on %s: %s (action %s)", str("operation"), where, str("reason"), str("action"))
		if nospace, _ := e.Data["nospace"].(bool); nospace {
			return fmt.Errorf("%w: %s", ErrHostDiskFull, what)
		}
		return fmt.Errorf("%w: %s", ErrHostIO, what)
	case "STOP":
		// STOP carries no reason; a stop on a write error shows as status
		// io-error (normally after its BLOCK_IO_ERROR, which already said
		// which disk).
		var st struct {
			Return struct {
				Status string `json:"status"`
			} `json:"return"`
		}
		out, err := mon.Run([]byte(`{"execute":"query-status"}`))
		if err != nil || json.Unmarshal(out, &st) != nil || st.Return.Status != "io-error" {
			return nil
		}
		return fmt.Errorf("%w: QEMU paused the guest on a disk I/O error (status io-error), most likely host disk full", ErrHostIO)
	}
	return nil
}

// blockFile is the host file under a drive or block node ("" if unknown).
func blockFile(mon qmpRunner, device, node string) string {
	out, err := mon.Run([]byte(`{"execute":"query-block"}`))
	if err != nil {
		return ""
	}
	var r struct {
		Return []struct {
			Device   string `json:"device"`
			Inserted *struct {
				File     string `json:"file"`
				NodeName string `json:"node-name"`
			} `json:"inserted"`
		} `json:"return"`
	}
	if json.Unmarshal(out, &r) != nil {
		return ""
	}
	for _, b := range r.Return {
		if b.Inserted == nil {
			continue
		}
		if (device != "" && b.Device == device) || (node != "" && b.Inserted.NodeName == node) {
			return b.Inserted.File
		}
	}
	return ""
}

// fail marks the VM failed: every wait on it (WaitAgent, reset waits,
// commands in flight, Provision) ends with err, and err is delivered as an
// Event. Only the first failure counts.
func (vm *VM) fail(err error) {
	vm.mu.Lock()
	if vm.failed != nil {
		vm.mu.Unlock()
		return
	}
	vm.failed = err
	boot := vm.bootID
	vm.broadcast()
	vm.mu.Unlock()
	vm.markDown()
	vm.retire(err) // commands in flight end with err as the cause
	e := Event{VM: vm.ID, BootID: boot, Time: time.Now(), VMFailed: err}
	vm.logf("%s", e)
	select {
	case vm.events <- e:
	default:
		vm.logf("VM %s: event queue full, dropped: %s", vm.ID, e)
	}
}
