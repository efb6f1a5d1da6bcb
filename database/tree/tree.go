package tree

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	"github.com/crashrig/crashrig/database/chunk"
)

// Store is where nodes are read from and written to. Put must make the
// chunk readable by Get (e.g. in a transaction-local overlay).
type Store interface {
	chunk.Getter
	Put(data []byte) chunk.Hash
}

// Node size targets: a node is split once its payload exceeds maxNodeBytes
// (and it has at least minSplitEntries entries).
//
// Leaves over bigLeafBytes split even below minSplitEntries (see split).
// It is well above maxNodeBytes so that trees of ordinary rows keep their
// shape.
const (
	maxNodeBytes    = 4096
	minSplitEntries = 4
	bigLeafBytes    = 1 << 20
)

type node struct {
	leaf     bool
	keys     [][]byte
	vals     [][]byte     // leaf only
	children []chunk.Hash // internal only; keys[i] is the first key under children[i]
	size     int          // approximate encoded payload size
}

// encode returns the node as a chunk (see chunk.Chunk.Encode for the
// layout), built in one exactly sized buffer: every Put re-encodes a
// leaf-to-root path of ~4 KiB nodes, and growing and copying buffers was
// a visible part of commit CPU.
func (n *node) encode() []byte {
	kind, nrefs := chunk.KindLeaf, 0
	if !n.leaf {
		kind, nrefs = chunk.KindInternal, len(n.children)
	}
	size := 1 + uvarintLen(uint64(nrefs)) + nrefs*chunk.HashSize + uvarintLen(uint64(len(n.keys)))
	for i, k := range n.keys {
		size += uvarintLen(uint64(len(k))) + len(k)
		if n.leaf {
			size += uvarintLen(uint64(len(n.vals[i]))) + len(n.vals[i])
		}
	}
	p := make([]byte, 0, size)
	p = append(p, byte(kind))
	p = binary.AppendUvarint(p, uint64(nrefs))
	for _, c := range n.children {
		p = append(p, c[:]...)
	}
	p = binary.AppendUvarint(p, uint64(len(n.keys)))
	for i, k := range n.keys {
		p = binary.AppendUvarint(p, uint64(len(k)))
		p = append(p, k...)
		if n.leaf {
			p = binary.AppendUvarint(p, uint64(len(n.vals[i])))
			p = append(p, n.vals[i]...)
		}
	}
	return p
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func decode(data []byte) (*node, error) {
	c, err := chunk.Decode(data)
	if err != nil {
		return nil, err
	}
	if c.Kind != chunk.KindLeaf && c.Kind != chunk.KindInternal {
		return nil, fmt.Errorf("tree: chunk kind %d is not a tree node", c.Kind)
	}
	n := &node{leaf: c.Kind == chunk.KindLeaf, size: len(c.Payload)}
	p := c.Payload
	cnt, w := binary.Uvarint(p)
	if w <= 0 || cnt > uint64(len(p)) {
		return nil, chunk.ErrCorrupt
	}
	p = p[w:]
	read := func() ([]byte, error) {
		l, w := binary.Uvarint(p)
		if w <= 0 || uint64(len(p)-w) < l {
			return nil, chunk.ErrCorrupt
		}
		b := p[w : w+int(l)]
		p = p[w+int(l):]
		return b, nil
	}
	n.keys = make([][]byte, cnt)
	if n.leaf {
		n.vals = make([][]byte, cnt)
	} else {
		if len(c.Refs) != int(cnt) {
			return nil, chunk.ErrCorrupt
		}
		n.children = c.Refs
	}
	for i := range n.keys {
		if n.keys[i], err = read(); err != nil {
			return nil, err
		}
		if n.leaf {
			if n.vals[i], err = read(); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// cache holds decoded nodes. Nodes are immutable and addressed by content,
// so one process-wide cache is safe across stores and transactions. It is
// bounded by bytes, not nodes: nodes are up to ~4 KiB each and the store
// reads chunks from disk on demand, so the cache is what decides memory.
var cache = struct {
	sync.Mutex
	m     map[chunk.Hash]*node
	bytes int
}{m: make(map[chunk.Hash]*node)}

// maxCachedBytes bounds the decoded-node cache (node payload sizes plus a
// per-node overhead estimate).
const maxCachedBytes = 32 << 20

const nodeOverhead = 128

func cacheAdd(h chunk.Hash, n *node, evict bool) {
	cache.Lock()
	defer cache.Unlock()
	if cache.bytes >= maxCachedBytes {
		if !evict {
			return
		}
		clear(cache.m) // crude but bounded; hot nodes come back quickly
		cache.bytes = 0
	}
	if _, ok := cache.m[h]; !ok {
		cache.m[h] = n
		cache.bytes += n.size + len(n.keys)*16 + nodeOverhead
	}
}

func load(s Store, h chunk.Hash) (*node, error) {
	cache.Lock()
	n, ok := cache.m[h]
	cache.Unlock()
	if ok {
		return n, nil
	}
	data, err := s.Get(h)
	if err != nil {
		return nil, fmt.Errorf("tree: load node %s: %w", h.Short(), err)
	}
	n, err = decode(data)
	if err != nil {
		return nil, fmt.Errorf("tree: decode node %s: %w", h.Short(), err)
	}
	cacheAdd(h, n, true)
	return n, nil
}

func store(s Store, n *node) chunk.Hash {
	h := s.Put(n.encode())
	cacheAdd(h, n, false)
	return h
}

func entrySize(n *node, i int) int {
	if n.leaf {
		return len(n.keys[i]) + len(n.vals[i]) + 4
	}
	return len(n.keys[i]) + chunk.HashSize + 2
}

func (n *node) recomputeSize() {
	n.size = 0
	for i := range n.keys {
		n.size += entrySize(n, i)
	}
}

// search returns the index of the first key >= k.
func (n *node) search(k []byte) int {
	return sort.Search(len(n.keys), func(i int) bool { return bytes.Compare(n.keys[i], k) >= 0 })
}

// childFor returns the index of the child that may contain k.
func (n *node) childFor(k []byte) int {
	i := sort.Search(len(n.keys), func(i int) bool { return bytes.Compare(n.keys[i], k) > 0 })
	if i > 0 {
		i--
	}
	return i
}

type ref struct {
	first []byte
	hash  chunk.Hash
}

// split stores n, splitting it into several nodes if it is too large.
// A leaf larger than bigLeafBytes is split down to single entries if need
// be: otherwise a few multi-MiB rows would share one chunk, and a chunk
// must fit one journal record (journal.MaxRecordBody). Internal nodes keep
// at least two children per part so that growing the tree terminates.
func split(s Store, n *node) []ref {
	minPart, minEntries := 2, minSplitEntries
	if n.leaf && n.size > bigLeafBytes {
		minPart, minEntries = 1, 2
	}
	if n.size <= maxNodeBytes || len(n.keys) < minEntries {
		return []ref{{first: n.keys[0], hash: store(s, n)}}
	}
	var out []ref
	start, acc := 0, 0
	target := n.size / ((n.size + maxNodeBytes - 1) / maxNodeBytes)
	for i := range n.keys {
		acc += entrySize(n, i)
		if (acc >= target && i+1-start >= minPart && len(n.keys)-(i+1) >= minPart) || i == len(n.keys)-1 {
			part := &node{leaf: n.leaf, keys: n.keys[start : i+1 : i+1]}
			if n.leaf {
				part.vals = n.vals[start : i+1 : i+1]
			} else {
				part.children = n.children[start : i+1 : i+1]
			}
			part.recomputeSize()
			out = append(out, ref{first: part.keys[0], hash: store(s, part)})
			start, acc = i+1, 0
		}
	}
	return out
}

func insertAt[T any](s []T, i int, v ...T) []T {
	out := make([]T, 0, len(s)+len(v))
	out = append(out, s[:i]...)
	out = append(out, v...)
	return append(out, s[i:]...)
}

func replaceAt[T any](s []T, i int, v ...T) []T {
	out := make([]T, 0, len(s)-1+len(v))
	out = append(out, s[:i]...)
	out = append(out, v...)
	return append(out, s[i+1:]...)
}

// Get returns the value stored under key.
func Get(s Store, root chunk.Hash, key []byte) ([]byte, bool, error) {
	h := root
	for !h.IsZero() {
		n, err := load(s, h)
		if err != nil {
			return nil, false, err
		}
		if n.leaf {
			i := n.search(key)
			if i < len(n.keys) && bytes.Equal(n.keys[i], key) {
				return n.vals[i], true, nil
			}
			return nil, false, nil
		}
		h = n.children[n.childFor(key)]
	}
	return nil, false, nil
}

// Put inserts or replaces key and returns the new root.
func Put(s Store, root chunk.Hash, key, val []byte) (chunk.Hash, error) {
	if root.IsZero() {
		n := &node{leaf: true, keys: [][]byte{key}, vals: [][]byte{val}}
		n.recomputeSize()
		return store(s, n), nil
	}
	refs, err := put(s, root, key, val)
	if err != nil {
		return chunk.Hash{}, err
	}
	return grow(s, refs), nil
}

// grow builds new root levels until a single node remains.
func grow(s Store, refs []ref) chunk.Hash {
	for len(refs) > 1 {
		n := &node{}
		for _, r := range refs {
			n.keys = append(n.keys, r.first)
			n.children = append(n.children, r.hash)
		}
		n.recomputeSize()
		refs = split(s, n)
	}
	return refs[0].hash
}

func put(s Store, h chunk.Hash, key, val []byte) ([]ref, error) {
	n, err := load(s, h)
	if err != nil {
		return nil, err
	}
	m := &node{leaf: n.leaf}
	if n.leaf {
		i := n.search(key)
		if i < len(n.keys) && bytes.Equal(n.keys[i], key) {
			if bytes.Equal(n.vals[i], val) {
				return []ref{{first: n.keys[0], hash: h}}, nil
			}
			m.keys = n.keys
			m.vals = replaceAt(n.vals, i, val)
		} else {
			m.keys = insertAt(n.keys, i, key)
			m.vals = insertAt(n.vals, i, val)
		}
	} else {
		i := n.childFor(key)
		sub, err := put(s, n.children[i], key, val)
		if err != nil {
			return nil, err
		}
		if len(sub) == 1 && sub[0].hash == n.children[i] {
			return []ref{{first: n.keys[0], hash: h}}, nil // unchanged
		}
		m.replaceChild(n, i, sub)
	}
	m.recomputeSize()
	return split(s, m), nil
}

// replaceChild makes m's keys and children n's with child i replaced by
// the nodes in sub (none if it became empty, several if it split).
func (m *node) replaceChild(n *node, i int, sub []ref) {
	firsts := make([][]byte, len(sub))
	hashes := make([]chunk.Hash, len(sub))
	for j, r := range sub {
		firsts[j], hashes[j] = r.first, r.hash
	}
	m.keys = replaceAt(n.keys, i, firsts...)
	m.children = replaceAt(n.children, i, hashes...)
}

// Delete removes key and returns the new root and whether it was present.
func Delete(s Store, root chunk.Hash, key []byte) (chunk.Hash, bool, error) {
	if root.IsZero() {
		return root, false, nil
	}
	refs, found, err := del(s, root, key)
	if err != nil || !found {
		return root, found, err
	}
	if len(refs) == 0 {
		return chunk.Hash{}, true, nil
	}
	h := refs[0].hash
	// Collapse single-child internal roots.
	for {
		n, err := load(s, h)
		if err != nil {
			return chunk.Hash{}, false, err
		}
		if n.leaf || len(n.children) != 1 {
			return h, true, nil
		}
		h = n.children[0]
	}
}

func del(s Store, h chunk.Hash, key []byte) ([]ref, bool, error) {
	n, err := load(s, h)
	if err != nil {
		return nil, false, err
	}
	m := &node{leaf: n.leaf}
	if n.leaf {
		i := n.search(key)
		if i >= len(n.keys) || !bytes.Equal(n.keys[i], key) {
			return nil, false, nil
		}
		m.keys = replaceAt(n.keys, i)
		m.vals = replaceAt(n.vals, i)
	} else {
		i := n.childFor(key)
		sub, found, err := del(s, n.children[i], key)
		if err != nil || !found {
			return nil, found, err
		}
		m.replaceChild(n, i, sub)
	}
	if len(m.keys) == 0 {
		return nil, true, nil
	}
	m.recomputeSize()
	return []ref{{first: m.keys[0], hash: store(s, m)}}, true, nil
}

// Iter walks keys in ascending order within [lo, hi). A nil hi means no
// upper bound. The tree it walks is immutable, so an Iter is unaffected by
// later mutations that produce new roots.
type Iter struct {
	s     Store
	hi    []byte
	stack []frame
	err   error
	done  bool
}

type frame struct {
	n *node
	i int
}

// NewIter positions an iterator at the first key >= lo.
func NewIter(s Store, root chunk.Hash, lo, hi []byte) *Iter {
	it := &Iter{s: s, hi: hi}
	if root.IsZero() {
		it.done = true
		return it
	}
	h := root
	for {
		n, err := load(s, h)
		if err != nil {
			it.err, it.done = err, true
			return it
		}
		if n.leaf {
			it.stack = append(it.stack, frame{n: n, i: n.search(lo)})
			return it
		}
		i := n.childFor(lo)
		it.stack = append(it.stack, frame{n: n, i: i})
		h = n.children[i]
	}
}

// Next returns the next key/value; ok is false at the end or on error
// (check Err).
func (it *Iter) Next() (key, val []byte, ok bool) {
	for !it.done {
		top := &it.stack[len(it.stack)-1]
		if top.n.leaf {
			if top.i < len(top.n.keys) {
				k, v := top.n.keys[top.i], top.n.vals[top.i]
				top.i++
				if it.hi != nil && bytes.Compare(k, it.hi) >= 0 {
					it.done = true
					return nil, nil, false
				}
				return k, v, true
			}
			it.stack = it.stack[:len(it.stack)-1]
		} else {
			top.i++
			if top.i < len(top.n.children) {
				if err := it.descend(top.n.children[top.i]); err != nil {
					it.err, it.done = err, true
				}
				continue
			}
			it.stack = it.stack[:len(it.stack)-1]
		}
		if len(it.stack) == 0 {
			it.done = true
		}
	}
	return nil, nil, false
}

func (it *Iter) descend(h chunk.Hash) error {
	for {
		n, err := load(it.s, h)
		if err != nil {
			return err
		}
		it.stack = append(it.stack, frame{n: n, i: 0})
		if n.leaf {
			return nil
		}
		h = n.children[0]
	}
}

// Err returns the first error met while iterating.
func (it *Iter) Err() error { return it.err }

// Height returns the number of levels of the tree (0 for empty).
func Height(s Store, root chunk.Hash) (int, error) {
	h, levels := root, 0
	for !h.IsZero() {
		n, err := load(s, h)
		if err != nil {
			return 0, err
		}
		levels++
		if n.leaf {
			break
		}
		h = n.children[0]
	}
	return levels, nil
}
