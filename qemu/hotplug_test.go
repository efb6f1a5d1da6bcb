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
