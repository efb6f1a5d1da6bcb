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

// postOrder lists the chunks reachable from root that g holds, with their
// bytes, children before parents; chunks g does not hold are skipped (with
// their subtrees).
func postOrder(g chunk.Getter, roots ...chunk.Hash) (hashes []chunk.Hash, data [][]byte) {
	seen := map[chunk.Hash]bool{}
	var visit func(h chunk.Hash)
	visit = func(h chunk.Hash) {
		if h.IsZero() || seen[h] {
			return
		}
		seen[h] = true
		b, err := g.Get(h)
		if err != nil {
			return
		}
		refs, _ := chunk.Refs(b)
		for _, r := range refs {
			visit(r)
		}
		hashes, data = append(hashes, h), append(data, b)
	}
	for _, r := range roots {
		visit(r)
	}
	return hashes, data
}

// missingChunks counts chunks reachable from root that are not in the
// journal (or cannot be read back intact).
func (s *Store) missingChunks(root chunk.Hash) int {
	seen := map[chunk.Hash]bool{}
	stack := []chunk.Hash{root}
	missing := 0
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h.IsZero() || seen[h] {
			continue
		}
		seen[h] = true
		data, err := s.read(h, false)
		if err != nil {
			missing++
			continue
		}
		refs, err := chunk.Refs(data)
		if err != nil {
			missing++
			continue
		}
		stack = append(stack, refs...)
	}
	return missing
}

// walkPostOrder calls fn for every chunk reachable from roots, children
// before parents (the order a journal needs), each chunk once. Unlike
// postOrder it fails on a chunk it cannot read: GC must not drop one.
func (s *Store) walkPostOrder(roots []chunk.Hash, fn func(chunk.Hash, []byte) error) error {
	seen := map[chunk.Hash]bool{}
	var visit func(h chunk.Hash) error
	visit = func(h chunk.Hash) error {
		if h.IsZero() || seen[h] {
			return nil
		}
		seen[h] = true
		data, err := s.read(h, false)
		if err != nil {
			return err
		}
		refs, err := chunk.Refs(data)
		if err != nil {
			return fmt.Errorf("chunk %s: %w", h.Short(), err)
		}
		for _, r := range refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		return fn(h, data)
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return err
		}
	}
	return nil
}
