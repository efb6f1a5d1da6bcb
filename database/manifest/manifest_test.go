package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crashrig/crashrig/database/fsys"
)

func TestRoundTripAndSwap(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	p := filepath.Join(dir, FileName)
	if _, err := Read(fs, p); err != ErrNotExist {
		t.Fatalf("read missing: %v", err)
	}
	m1 := Manifest{Journal: "journal-000001.crj", Generation: 1, Format: FormatVersion}
	if err := Write(fs, p, m1); err != nil {
		t.Fatal(err)
	}
	m2 := Manifest{Journal: "journal-000002.crj", Generation: 2, Format: FormatVersion}
	if err := Write(fs, p, m2); err != nil {
		t.Fatal(err)
	}
	got, err := Read(fs, p)
	if err != nil || got != m2 {
		t.Fatalf("read = %+v, %v", got, err)
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
	// Atomic write: each write fsyncs the temp file and the directory.
	if fs.Syncs(FileName) != 2 || fs.DirSyncs() != 2 {
		t.Fatalf("syncs %d dir syncs %d, want 2 and 2", fs.Syncs(FileName), fs.DirSyncs())
	}
}

func TestTornManifestDetected(t *testing.T) {
	enc := Manifest{Journal: "journal-000003.crj", Generation: 3, Format: FormatVersion}.Encode()
	for cut := 0; cut < len(enc)-1; cut++ {
		if _, err := Decode(enc[:cut]); err == nil {
			t.Fatalf("truncated manifest (%d of %d bytes) decoded without error", cut, len(enc))
		}
	}
	bad := append([]byte{}, enc...)
	bad[30] ^= 0x01
	if _, err := Decode(bad); err == nil {
		t.Fatal("corrupted manifest decoded without error")
	}
}

func TestWriteInPlaceSkipsDurability(t *testing.T) {
	dir := t.TempDir()
	fs := fsys.NewCounting(fsys.OS{})
	p := filepath.Join(dir, FileName)
	m := Manifest{Journal: "journal-000001.crj", Generation: 1, Format: FormatVersion}
	if err := WriteInPlace(fs, p, m); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(fs, p); err != nil || got != m {
		t.Fatalf("read = %+v %v", got, err)
	}
	if fs.Syncs("") != 0 || fs.DirSyncs() != 0 {
		t.Fatal("in-place write should not fsync (it is the planted bug)")
	}
}
