package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"

	"github.com/crashrig/crashrig/database/fsys"
)

// FileName is the manifest's name inside the data directory.
const FileName = "MANIFEST"

// FormatVersion is the current storage format version.
const FormatVersion = 1

// Manifest is the decoded manifest.
type Manifest struct {
	Journal    string // journal file name, relative to the data directory
	Generation uint64 // bumped by each GC
	Format     int
}

// ErrNotExist is returned by Read when there is no manifest (fresh or never
// initialised directory).
var ErrNotExist = errors.New("manifest does not exist")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the text form. The last line carries a CRC32C of the
// preceding bytes so that a torn or partially written manifest is detected
// instead of being half-parsed.
func (m Manifest) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "crashrig-manifest\nformat=%d\ngeneration=%d\njournal=%s\n", m.Format, m.Generation, m.Journal)
	fmt.Fprintf(&b, "crc=%08x\n", crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

// Decode parses the text form.
func Decode(data []byte) (Manifest, error) {
	i := bytes.LastIndex(data, []byte("crc="))
	if i < 0 {
		return Manifest{}, errors.New("manifest: missing crc line")
	}
	want, err := strconv.ParseUint(strings.TrimSpace(string(data[i+4:])), 16, 32)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: bad crc line: %w", err)
	}
	if got := crc32.Checksum(data[:i], castagnoli); uint32(want) != got {
		return Manifest{}, fmt.Errorf("manifest: checksum mismatch (torn or corrupt manifest)")
	}
	var m Manifest
	sc := bufio.NewScanner(bytes.NewReader(data[:i]))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			if line != "crashrig-manifest" {
				return Manifest{}, errors.New("manifest: bad magic line")
			}
			first = false
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Manifest{}, fmt.Errorf("manifest: bad line %q", line)
		}
		switch k {
		case "format":
			m.Format, err = strconv.Atoi(v)
		case "generation":
			m.Generation, err = strconv.ParseUint(v, 10, 64)
		case "journal":
			m.Journal = v
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("manifest: bad %s: %w", k, err)
		}
	}
	if m.Journal == "" || strings.ContainsAny(m.Journal, "/\\") {
		return Manifest{}, fmt.Errorf("manifest: bad journal name %q", m.Journal)
	}
	if m.Format != FormatVersion {
		return Manifest{}, fmt.Errorf("manifest: unsupported format version %d", m.Format)
	}
	return m, nil
}

// Read loads the manifest at path.
func Read(fs fsys.FS, path string) (Manifest, error) {
	data, err := fs.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, ErrNotExist
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	return Decode(data)
}

// Write replaces the manifest at path atomically and durably.
func Write(fs fsys.FS, path string, m Manifest) error {
	return fsys.WriteFileAtomic(fs, path, m.Encode())
}

// WriteInPlace truncates and rewrites the manifest without a temp file,
// rename or fsync. It plants the manifest-in-place durability bug for the
// test harness and must not be used otherwise.
func WriteInPlace(fs fsys.FS, path string, m Manifest) error {
	f, err := fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fsys.FilePerm)
	if err != nil {
		return fmt.Errorf("open manifest: %w", err)
	}
	if _, err := f.Write(m.Encode()); err != nil {
		_ = f.Close()
		return fmt.Errorf("write manifest: %w", err)
	}
	return f.Close()
}
