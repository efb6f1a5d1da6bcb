package store

import (
	"fmt"

	"github.com/crashrig/crashrig/database/chunk"
)

type mapPutter map[chunk.Hash][]byte

func (m mapPutter) Put(b []byte) chunk.Hash { h := chunk.Of(b); m[h] = b; return h }

func (m mapPutter) Get(h chunk.Hash) ([]byte, error) {
	if b, ok := m[h]; ok {
		return b, nil
	}
	return nil, chunk.NotFound(h)
}

// walkGraph visits every chunk reachable from roots once, children before
// parents (the order a journal needs), calling visit with its bytes. A
// chunk that g cannot return, or whose references cannot be parsed, goes
// to unreadable instead: a nil result skips it and its subtree, an error
// ends the walk.
func walkGraph(g chunk.Getter, roots []chunk.Hash, unreadable func(chunk.Hash, error) error, visit func(chunk.Hash, []byte) error) error {
	seen := map[chunk.Hash]bool{}
	var walk func(h chunk.Hash) error
	walk = func(h chunk.Hash) error {
		if h.IsZero() || seen[h] {
			return nil
		}
		seen[h] = true
		data, err := g.Get(h)
		if err != nil {
			return unreadable(h, err)
		}
		refs, err := chunk.Refs(data)
		if err != nil {
			return unreadable(h, fmt.Errorf("chunk %s: %w", h.Short(), err))
		}
		for _, r := range refs {
			if err := walk(r); err != nil {
				return err
			}
		}
		return visit(h, data)
	}
	for _, r := range roots {
		if err := walk(r); err != nil {
			return err
		}
	}
	return nil
}

// postOrder lists the chunks reachable from roots that g holds, with their
// bytes, children before parents; chunks g does not hold are skipped (with
// their subtrees).
func postOrder(g chunk.Getter, roots ...chunk.Hash) (hashes []chunk.Hash, data [][]byte) {
	skip := func(chunk.Hash, error) error { return nil }
	_ = walkGraph(g, roots, skip, func(h chunk.Hash, b []byte) error {
		hashes, data = append(hashes, h), append(data, b)
		return nil
	})
	return hashes, data
}

// uncachedReads reads committed chunks without filling the cache (walks
// over everything would evict the working set).
type uncachedReads struct{ s *Store }

func (u uncachedReads) Get(h chunk.Hash) ([]byte, error) { return u.s.read(h, false) }

// missingChunks counts chunks reachable from root that are not in the
// journal (or cannot be read back intact).
func (s *Store) missingChunks(root chunk.Hash) int {
	missing := 0
	count := func(chunk.Hash, error) error { missing++; return nil }
	_ = walkGraph(uncachedReads{s}, []chunk.Hash{root}, count, func(chunk.Hash, []byte) error { return nil })
	return missing
}

// walkPostOrder calls fn for every committed chunk reachable from roots,
// children before parents, each chunk once. Unlike postOrder it fails on
// a chunk it cannot read: GC must not drop one.
func (s *Store) walkPostOrder(roots []chunk.Hash, fn func(chunk.Hash, []byte) error) error {
	fail := func(_ chunk.Hash, err error) error { return err }
	return walkGraph(uncachedReads{s}, roots, fail, fn)
}
