package vmimage

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLZ4Block(t *testing.T) {
	// "abc", then a 9-byte match 3 back (overlapping itself), then "x".
	block := []byte{0x35, 'a', 'b', 'c', 3, 0, 0x10, 'x'}
	out, err := lz4Block(nil, block)
	require.NoError(t, err)
	assert.Equal(t, "abcabcabcabcx", string(out))

	// A long literal run: 15 + 255 + 3 = 273 bytes.
	lit := bytes.Repeat([]byte{'z'}, 273)
	out, err = lz4Block(nil, append([]byte{0xf0, 255, 3}, lit...))
	require.NoError(t, err)
	assert.Equal(t, lit, out)

	for name, bad := range map[string][]byte{
		"offset before the block": {0x10, 'a', 2, 0, 0x10, 'x'},
		"offset zero":             {0x10, 'a', 0, 0},
		"literals past the end":   {0x50, 'a'},
		"cut offset":              {0x10, 'a', 1},
	} {
		_, err := lz4Block(nil, bad)
		assert.Error(t, err, name)
	}

	// A legacy frame: two blocks, then the size trailer the kernel build
	// appends.
	var frame []byte
	for _, b := range [][]byte{block, {0x30, 'e', 'n', 'd'}} {
		frame = binary.LittleEndian.AppendUint32(frame, uint32(len(b)))
		frame = append(frame, b...)
	}
	frame = binary.LittleEndian.AppendUint32(frame, 16)
	out, err = lz4LegacyDecode(frame)
	require.NoError(t, err)
	assert.Equal(t, "abcabcabcabcxend", string(out))
}

func TestExtractELFBadInput(t *testing.T) {
	_, err := extractELF([]byte("not a kernel"))
	assert.ErrorContains(t, err, "bzImage")
}

// TestExtractELFFromDebianKernel unpacks the cloud kernel of a cached root
// filesystem, when this machine has one, and checks it can boot by PVH.
func TestExtractELFFromDebianKernel(t *testing.T) {
	kernels, _ := filepath.Glob(filepath.Join(DefaultCacheDir(), "rootfs-*", "boot", "vmlinuz-*"))
	if len(kernels) == 0 {
		t.Skip("no cached root filesystem with a kernel on this machine")
	}
	bz, err := os.ReadFile(kernels[0])
	require.NoError(t, err)
	kernel, err := extractELF(bz)
	require.NoError(t, err)
	assert.Greater(t, len(kernel), len(bz), "the ELF is the unpacked kernel")
	pvh, err := hasPVHNote(kernel)
	require.NoError(t, err)
	assert.True(t, pvh, "Debian's cloud kernel has CONFIG_PVH")
}
