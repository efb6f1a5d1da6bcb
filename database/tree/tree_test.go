package tree

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/crashrig/crashrig/database/chunk"
)

// memStore records every Put so tests can count new chunks.
type memStore struct {
	m    map[chunk.Hash][]byte
	puts int
}

func newMem() *memStore { return &memStore{m: map[chunk.Hash][]byte{}} }

func (s *memStore) Get(h chunk.Hash) ([]byte, error) {
	if b, ok := s.m[h]; ok {
		return b, nil
	}
	return nil, chunk.NotFound(h)
}

func (s *memStore) Put(b []byte) chunk.Hash {
	h := chunk.Of(b)
	s.puts++
	s.m[h] = b
	return h
}

func key(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

func collect(t *testing.T, s Store, root chunk.Hash, lo, hi []byte) []string {
	t.Helper()
	it := NewIter(s, root, lo, hi)
	var out []string
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		out = append(out, fmt.Sprintf("%x=%s", k, v))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRandomOpsMatchModel(t *testing.T) {
	s := newMem()
	rng := rand.New(rand.NewSource(1))
	model := map[string]string{}
	var root chunk.Hash
	for i := 0; i < 5000; i++ {
		k := key(rng.Intn(2000))
		switch rng.Intn(3) {
		case 0, 1:
			v := fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte("x"), rng.Intn(200)))
			var err error
			if root, err = Put(s, root, k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			model[string(k)] = v
		case 2:
			var found bool
			var err error
			root, found, err = Delete(s, root, k)
			if err != nil {
				t.Fatal(err)
			}
			if _, want := model[string(k)]; want != found {
				t.Fatalf("delete %x found=%v want %v", k, found, want)
			}
			delete(model, string(k))
		}
	}
	// Point lookups.
	for i := 0; i < 2000; i++ {
		v, ok, err := Get(s, root, key(i))
		if err != nil {
			t.Fatal(err)
		}
		mv, mok := model[string(key(i))]
		if ok != mok || (ok && string(v) != mv) {
			t.Fatalf("get %d: %q %v, model %q %v", i, v, ok, mv, mok)
		}
	}
	// Range scans.
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, r := range [][2]int{{0, 2000}, {100, 150}, {1999, 2000}, {500, 500}} {
		var want []string
		for _, k := range keys {
			if k >= string(key(r[0])) && k < string(key(r[1])) {
				want = append(want, fmt.Sprintf("%x=%s", k, model[k]))
			}
		}
		got := collect(t, s, root, key(r[0]), key(r[1]))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("range %v: got %d entries, want %d", r, len(got), len(want))
		}
	}
	h, _ := Height(s, root)
	if h < 2 {
		t.Fatalf("height %d: test did not exercise internal nodes", h)
	}
	// Delete everything: back to the empty tree.
	for _, k := range keys {
		var err error
		if root, _, err = Delete(s, root, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if !root.IsZero() {
		t.Fatalf("root after deleting all = %v", root)
	}
}

func TestCopyOnWriteSharing(t *testing.T) {
	s := newMem()
	var root chunk.Hash
	const n = 20000
	var err error
	for i := 0; i < n; i++ {
		if root, err = Put(s, root, key(i), []byte(fmt.Sprintf("row-%d-padding-padding-padding", i))); err != nil {
			t.Fatal(err)
		}
	}
	height, _ := Height(s, root)
	old := root
	before := s.puts
	if root, err = Put(s, root, key(n/2), []byte("changed")); err != nil {
		t.Fatal(err)
	}
	written := s.puts - before
	// One changed key rewrites exactly the path from leaf to root.
	if written != height {
		t.Fatalf("changing one key wrote %d chunks, tree height %d", written, height)
	}
	if height > 4 {
		t.Fatalf("height %d for %d keys; fan-out too small", height, n)
	}
	// The old root still sees the old value (snapshot), the new one the new.
	v, _, _ := Get(s, old, key(n/2))
	if string(v) == "changed" {
		t.Fatal("old snapshot changed")
	}
	v, _, _ = Get(s, root, key(n/2))
	if string(v) != "changed" {
		t.Fatal("new root lacks change")
	}
	// Re-putting the same value writes nothing.
	before = s.puts
	if r2, _ := Put(s, root, key(n/2), []byte("changed")); r2 != root || s.puts != before {
		t.Fatal("idempotent put wrote chunks")
	}
}

// TestEncodeMatchesChunkLayout pins node.encode (hand-sized for speed) to
// the generic chunk layout, for leaves and internal nodes.
func TestEncodeMatchesChunkLayout(t *testing.T) {
	leaf := &node{leaf: true, keys: [][]byte{[]byte("a"), bytes.Repeat([]byte("k"), 300)}, vals: [][]byte{nil, bytes.Repeat([]byte("v"), 200)}}
	inner := &node{keys: [][]byte{[]byte("a"), []byte("m")}, children: []chunk.Hash{chunk.Of([]byte("x")), chunk.Of([]byte("y"))}}
	for _, n := range []*node{leaf, inner, {leaf: true}} {
		var p []byte
		p = binary.AppendUvarint(p, uint64(len(n.keys)))
		for i, k := range n.keys {
			p = binary.AppendUvarint(p, uint64(len(k)))
			p = append(p, k...)
			if n.leaf {
				p = binary.AppendUvarint(p, uint64(len(n.vals[i])))
				p = append(p, n.vals[i]...)
			}
		}
		c := chunk.Chunk{Kind: chunk.KindLeaf, Payload: p}
		if !n.leaf {
			c.Kind, c.Refs = chunk.KindInternal, n.children
		}
		got := n.encode()
		if !bytes.Equal(got, c.Encode()) || len(got) != cap(got) {
			t.Fatalf("encode differs from chunk layout (len %d cap %d)", len(got), cap(got))
		}
	}
}
