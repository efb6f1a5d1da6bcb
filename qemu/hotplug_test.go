package qemu

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHotplugCommandsMapCacheModes(t *testing.T) {
	for mode, want := range map[string]struct {
		direct, noFlush bool
		writeCache      string
	}{
		"":             {false, false, "on"},
		"writeback":    {false, false, "on"},
		"none":         {true, false, "on"},
		"writethrough": {false, false, "off"},
		"directsync":   {true, false, "off"},
		"unsafe":       {false, true, "on"},
	} {
		cmds, err := HotplugCommands(Disk{Path: "/d/data,1.qcow2", Cache: mode}, "datadisk", DataDiskAddr)
		require.NoError(t, err, mode)
		require.Len(t, cmds, 2)
		var add, dev struct {
			Execute   string         `json:"execute"`
			Arguments map[string]any `json:"arguments"`
		}
		require.NoError(t, json.Unmarshal(cmds[0], &add))
		require.NoError(t, json.Unmarshal(cmds[1], &dev))
		assert.Equal(t, "blockdev-add", add.Execute)
		assert.Equal(t, "qcow2", add.Arguments["driver"], "default format")
		assert.Equal(t, map[string]any{"direct": want.direct, "no-flush": want.noFlush}, add.Arguments["cache"], mode)
		assert.Equal(t, map[string]any{"driver": "file", "filename": "/d/data,1.qcow2"}, add.Arguments["file"], "QMP takes the path as it is")
		assert.Equal(t, "device_add", dev.Execute)
		assert.Equal(t, "virtio-blk-pci", dev.Arguments["driver"])
		assert.Equal(t, add.Arguments["node-name"], dev.Arguments["drive"])
		assert.Equal(t, "0x6", dev.Arguments["addr"], "the data disk's slot in Machine.Args")
		assert.Equal(t, want.writeCache, dev.Arguments["write-cache"], mode)
	}
	args, err := Machine{Kernel: "k", Initrd: "i", Disks: []Disk{{Path: "r"}, {Path: "d"}}}.Args()
	require.NoError(t, err)
	assert.Contains(t, args, "virtio-blk-pci,drive=disk1,addr=0x6", "DataDiskAddr is where Machine puts the second disk")

	_, err = HotplugCommands(Disk{Path: "d", Cache: "bogus"}, "x", DataDiskAddr)
	assert.ErrorContains(t, err, "cache mode")
	_, err = HotplugCommands(Disk{Path: "d", Format: "vmdk"}, "x", DataDiskAddr)
	assert.ErrorContains(t, err, "format")
}

func TestHotplugCommandsKeepTheWriteLog(t *testing.T) {
	cmds, err := HotplugCommands(Disk{Path: "/d/data-3.qcow2", Format: "qcow2", WriteLog: "/d/data-3.log"}, "datadisk", DataDiskAddr)
	require.NoError(t, err)
	type qmp struct {
		Execute   string         `json:"execute"`
		Arguments map[string]any `json:"arguments"`
	}
	var got []qmp
	for _, c := range cmds {
		var q qmp
		require.NoError(t, json.Unmarshal(c, &q))
		got = append(got, q)
	}
	require.Len(t, got, 5, "four block nodes and the device, as Machine starts a logged disk")
	logw := got[3].Arguments
	assert.Equal(t, "blklogwrites", logw["driver"])
	assert.Equal(t, false, logw["log-append"], "a new generation's log starts empty")
	assert.Equal(t, "/d/data-3.log", got[2].Arguments["filename"])
	assert.Equal(t, logw["log"], got[2].Arguments["node-name"])
	assert.Equal(t, logw["file"], got[1].Arguments["node-name"])
	assert.Equal(t, "qcow2", got[1].Arguments["driver"])
	assert.Equal(t, "/d/data-3.qcow2", got[0].Arguments["filename"])
	dev := got[4]
	assert.Equal(t, "device_add", dev.Execute)
	assert.Equal(t, logw["node-name"], dev.Arguments["drive"], "the guest writes through the log")
	assert.Equal(t, "datadisk", dev.Arguments["id"])
	assert.Equal(t, "0x6", dev.Arguments["addr"])
	assert.Equal(t, "on", dev.Arguments["write-cache"], "a volatile cache: the guest sends flushes, and the log holds unflushed writes")
}
