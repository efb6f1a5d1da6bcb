package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultTable(t *testing.T) {
	seg := func(start, n int64) string { return "error" }
	assert.Equal(t, "0 100 linear /dev/vdb 0\n", faultTable("/dev/vdb", 100, nil, seg))
	assert.Equal(t, "0 100 error\n", faultTable("/dev/vdb", 100, []sectorRange{{0, 100}}, seg))
	assert.Equal(t,
		"0 10 linear /dev/vdb 0\n10 5 error\n15 5 linear /dev/vdb 15\n20 80 error\n",
		faultTable("/dev/vdb", 100, []sectorRange{{10, 5}, {20, 200}}, seg),
		"ranges past the end are cut at it")
}

func TestMergeRanges(t *testing.T) {
	assert.Equal(t, []sectorRange{{0, 20}, {30, 5}},
		mergeRanges([]sectorRange{{30, 5}, {10, 10}, {0, 10}, {5, 2}, {40, 0}}))
	assert.Nil(t, mergeRanges(nil))
}

func TestParseDumpe2fsFree(t *testing.T) {
	out := `Filesystem volume name:   <none>
Block size:               4096
Group 0: (Blocks 0-32767) csum 0x1234 [ITABLE_ZEROED]
  Free blocks: 1000-1009, 2000
  Free inodes: 12-8192
Group 1: (Blocks 32768-65535)
  Free blocks: 
`
	rs, err := parseDumpe2fsFree(out)
	require.NoError(t, err)
	assert.Equal(t, []sectorRange{{8000, 80}, {16000, 8}}, rs)
	_, err = parseDumpe2fsFree("Free blocks: 1-2\n")
	assert.Error(t, err, "no block size")
}

func TestParseXFSFree(t *testing.T) {
	geo := "blocksize = 4096\nagblocks = 1000\n"
	free := "   agno   agbno     len\n      0      10       2\n      1       0       1\n   from      to extents  blocks    pct\n      1       1       1       1   1.00\n"
	rs, err := parseXFSFree(geo, free)
	require.NoError(t, err)
	assert.Equal(t, []sectorRange{{80, 16}, {8000, 8}}, rs)
	_, err = parseXFSFree("", free)
	assert.Error(t, err)
}
