package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsoleLogTimestampsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	c, err := NewConsoleLog(path, nil)
	require.NoError(t, err)
	n, err := c.Write([]byte("hello\nwor"))
	require.NoError(t, err)
	assert.Equal(t, 9, n)
	c.Write([]byte("ld\n"))
	c.Mark("mark")
	require.NoError(t, c.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^\[ +\d+\.\d{3}\] hello$`, lines[0])
	assert.Regexp(t, `^\[ +\d+\.\d{3}\] world$`, lines[1])
	assert.Regexp(t, `^\[ +\d+\.\d{3}\] mark$`, lines[2])
}
