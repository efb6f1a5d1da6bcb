package store

import (
	"sync"

	"github.com/crashrig/crashrig/database/chunk"
)

// chunkCache keeps recently used chunks in memory, bounded in bytes. Chunks
// live in the journal and are read on demand; without a cache every tree
// walk would pread (and hash-check) its root and inner nodes again.
//
// It has two generations instead of an LRU list: new and reused chunks go
// into cur; when cur is full it becomes old and the previous old is
// dropped. A hit in old moves the chunk back to cur, so hot chunks survive
// every rotation. That costs one map lookup per hit and nothing per
// entry, and keeps at most 2*genBytes of chunk data.
type chunkCache struct {
	mu       sync.Mutex
	genBytes int64
	cur, old map[chunk.Hash][]byte
	curBytes int64
}

// entryOverhead approximates a cache entry's cost beyond the chunk bytes
// (hash key, slice header, map bucket share).
const entryOverhead = 80

func newChunkCache(budget int64) *chunkCache {
	return &chunkCache{genBytes: max(budget/2, 1), cur: map[chunk.Hash][]byte{}}
}

func (c *chunkCache) get(h chunk.Hash) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cur[h]; ok {
		return b, true
	}
	if b, ok := c.old[h]; ok {
		c.addLocked(h, b)
		return b, true
	}
	return nil, false
}

func (c *chunkCache) add(h chunk.Hash, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(h, b)
}

func (c *chunkCache) addLocked(h chunk.Hash, b []byte) {
	if _, ok := c.cur[h]; ok {
		return
	}
	n := int64(len(b)) + entryOverhead
	if c.curBytes+n > c.genBytes && c.curBytes > 0 {
		c.old, c.cur, c.curBytes = c.cur, make(map[chunk.Hash][]byte, len(c.cur)), 0
	}
	c.cur[h] = b
	c.curBytes += n
}
