// Package manifest reads and writes the small file that names the current
// journal. It changes only at database creation and at GC, and is always
// replaced atomically (temp file, fsync, rename, fsync directory) so a
// crash leaves either the old or the new manifest.
package manifest
