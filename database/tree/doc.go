// Package tree implements a copy-on-write B+tree whose nodes are
// content-addressed chunks. Every mutation returns a new root hash and
// shares all untouched nodes with the old version, so a commit that
// changes one key writes O(log n) new chunks and any old root stays a
// valid, immutable snapshot.
//
// Keys and values are byte strings; keys are compared bytewise (callers use
// an order-preserving key encoding). The zero hash is the empty tree.
//
// Nodes are never merged on delete (an emptied node is removed from its
// parent and a single-child root is collapsed). This keeps the code small
// and still bounds the height by what inserts produced.
package tree
