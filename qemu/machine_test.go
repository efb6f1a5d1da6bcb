package qemu

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMachineArgs(t *testing.T) {
	m := Machine{Kernel: "k", Initrd: "i", Append: "console=ttyS0",
		Disks:     []Disk{{Path: "a.qcow2"}, {Path: "b,c.raw", Format: "raw", Cache: "none"}},
		QMPSocket: "/run/q.sock", Serial: "file:/tmp/c.log", NoReboot: true,
		FwCfg: []FwCfg{{Name: "opt/crashrig/agent", File: "/vm/agent,1.cfg"}}}
	args, err := m.Args()
	require.NoError(t, err)
	joined := strings.Join(args, " ")
	assert.Contains(t, joined, "-drive file=a.qcow2,if=none,id=disk0,format=qcow2 -device virtio-blk-pci,drive=disk0,addr=0x5")
	assert.Contains(t, joined, "-drive file=b,,c.raw,if=none,id=disk1,format=raw,cache=none -device virtio-blk-pci,drive=disk1,addr=0x6",
		"second disk gets the next PCI slot; commas in paths are escaped")
	assert.Contains(t, joined, "-chardev socket,id=qmp0,path=/run/q.sock,server=on,wait=off -mon chardev=qmp0,mode=control")
	assert.Contains(t, joined, "-accel tcg,tb-size=256")
	assert.Contains(t, joined, "-no-reboot")
	assert.NotContains(t, joined, "-cpu host", "TCG has no host CPU model")
	assert.Contains(t, joined, "-fw_cfg name=opt/crashrig/agent,file=/vm/agent,,1.cfg")

	m.Accel = AccelKVM
	args, err = m.Args()
	require.NoError(t, err)
	assert.Contains(t, strings.Join(args, " "), "-accel kvm -m 1024 -smp 1 -kernel k -initrd i -append console=ttyS0 -cpu host")

	_, err = Machine{}.Args()
	assert.Error(t, err, "a machine needs a kernel")

	_, err = Machine{Kernel: "k", Initrd: "i", FwCfg: []FwCfg{{Name: "etc/x", File: "f"}}}.Args()
	assert.ErrorContains(t, err, "opt/", "QEMU reserves fw_cfg names outside opt/")
}

func TestStripANSI(t *testing.T) {
	assert.Equal(t, "root@crashrig:~# ", StripANSI("\x1b[?2004hroot@crashrig:~# "))
	assert.Equal(t, "red", StripANSI("\x1b[31mred\x1b[0m"))
}

// A QEMU that accepts the QMP socket but never greets must not hang
// DialQMP: it gives up with its context.
func TestDialQMPGivesUpWithoutAGreeting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qmp.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	p := &Process{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = DialQMP(ctx, path, p)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// A QMP socket in a directory named like a subtest ("seed=1") or with a
// comma in it must still open: QEMU's "-qmp unix:PATH" shorthand refused
// such paths.
func TestQMPSocketPathWithEqualsAndComma(t *testing.T) {
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skipf("%s not installed", Binary)
	}
	dir := filepath.Join(t.TempDir(), "seed=1,fs=xfs")
	require.NoError(t, os.Mkdir(dir, 0o755))
	sock := filepath.Join(dir, "qmp.sock")
	args, err := Machine{Kernel: "k", Initrd: "i", QMPSocket: sock}.Args()
	require.NoError(t, err)
	var qmpArgs []string
	for i, a := range args {
		if a == "-chardev" || a == "-mon" {
			qmpArgs = append(qmpArgs, a, args[i+1])
		}
	}
	require.NotEmpty(t, qmpArgs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, append([]string{"-machine", "none", "-display", "none", "-nodefaults", "-S"}, qmpArgs...)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("QMP socket %s never opened: %v; qemu said: %s", sock, err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestMachineArgsWriteLog(t *testing.T) {
	m := Machine{Kernel: "k", Initrd: "i",
		Disks: []Disk{{Path: "root.qcow2"}, {Path: "data.qcow2", Format: "qcow2", Cache: "none", WriteLog: "/vm/data.log"}}}
	args, err := m.Args()
	require.NoError(t, err)
	joined := strings.Join(args, " ")
	assert.Contains(t, joined, "-blockdev driver=file,filename=data.qcow2,node-name=disk1-file")
	assert.Contains(t, joined, "-blockdev driver=qcow2,file=disk1-file,node-name=disk1-fmt")
	assert.Contains(t, joined, "-blockdev driver=blklogwrites,node-name=disk1,file=disk1-fmt,log=disk1-logfile,log-append=off")
	assert.Contains(t, joined, "-device virtio-blk-pci,drive=disk1,addr=0x6,write-cache=on", "the logged disk keeps its PCI slot and a volatile cache")
	assert.NotContains(t, joined, "id=disk1,", "a logged disk is not also a -drive")
	assert.NotContains(t, joined, "cache=none")

	m.Disks[1].Format = "vmdk"
	_, err = m.Args()
	assert.Error(t, err, "blklogwrites is set up over raw or qcow2 only")
}
