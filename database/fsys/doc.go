// Package fsys is the small file-system seam used by the storage layer.
//
// Everything that must be durable goes through these interfaces so tests
// can count fsyncs and manifest writes, and inject failures, without
// touching the real disk semantics.
package fsys
