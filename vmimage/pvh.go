package vmimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// The guest kernel can boot two ways. A bzImage (vmlinuz) starts in its own
// decompressor, which unpacks ~50 MB of kernel at every boot and every
// reset, slow under TCG. The same kernel as an ELF with a PVH entry note
// (CONFIG_PVH) is loaded by QEMU as it is and entered directly. extractELF
// gets that ELF out of a bzImage whose payload is LZ4 (Debian's cloud
// kernel).

// lz4LegacyMagic starts an LZ4 "legacy" frame (what the kernel build's
// lz4 -l writes).
const lz4LegacyMagic = 0x184C2102

// lz4LegacyBlock is the most a legacy-frame block decompresses to.
const lz4LegacyBlock = 8 << 20

// extractELF returns the ELF kernel inside a bzImage with an LZ4 payload.
func extractELF(bz []byte) ([]byte, error) {
	// x86 boot protocol: setup_sects at 0x1f1, the "HdrS" magic at 0x202,
	// payload_offset/payload_length at 0x248/0x24c (relative to the
	// protected-mode code after the setup sectors).
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage (no HdrS header)")
	}
	setup := int(bz[0x1f1])
	if setup == 0 {
		setup = 4
	}
	start := (setup + 1) * 512
	off := int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if start+off+n > len(bz) || n < 8 {
		return nil, fmt.Errorf("bzImage payload %d+%d bytes lies outside the file (%d bytes)", start+off, n, len(bz))
	}
	payload := bz[start+off : start+off+n]
	if binary.LittleEndian.Uint32(payload) != lz4LegacyMagic {
		return nil, fmt.Errorf("bzImage payload is not LZ4 (magic %#x)", binary.LittleEndian.Uint32(payload))
	}
	out, err := lz4LegacyDecode(payload[4:])
	if err != nil {
		return nil, fmt.Errorf("bzImage payload: %w", err)
	}
	if !bytes.HasPrefix(out, []byte(elf.ELFMAG)) {
		return nil, errors.New("bzImage payload does not unpack to an ELF")
	}
	return out, nil
}

// hasPVHNote reports whether an ELF kernel has the PVH entry point note
// (Xen note type 18, XEN_ELFNOTE_PHYS32_ENTRY) QEMU needs to boot it.
func hasPVHNote(kernel []byte) (bool, error) {
	f, err := elf.NewFile(bytes.NewReader(kernel))
	if err != nil {
		return false, fmt.Errorf("ELF kernel: %w", err)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return false, fmt.Errorf("ELF kernel notes: %w", err)
		}
		for len(b) >= 12 {
			nameSz := int(binary.LittleEndian.Uint32(b))
			descSz := int(binary.LittleEndian.Uint32(b[4:]))
			typ := binary.LittleEndian.Uint32(b[8:])
			name := b[12:min(len(b), 12+nameSz)]
			if typ == 18 && bytes.Equal(bytes.TrimRight(name, "\x00"), []byte("Xen")) {
				return true, nil
			}
			adv := 12 + align4(nameSz) + align4(descSz)
			if adv > len(b) {
				break
			}
			b = b[adv:]
		}
	}
	return false, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// lz4LegacyDecode unpacks the blocks of an LZ4 legacy frame (after its
// magic). It stops at the end of the data or at anything that is not a
// block (the kernel build appends the unpacked size).
func lz4LegacyDecode(in []byte) ([]byte, error) {
	var out []byte
	for len(in) >= 4 {
		n := int(binary.LittleEndian.Uint32(in))
		if n == lz4LegacyMagic || n == 0 || n > len(in)-4 {
			break
		}
		var err error
		if out, err = lz4Block(out, in[4:4+n]); err != nil {
			return nil, err
		}
		in = in[4+n:]
	}
	if len(out) == 0 {
		return nil, errors.New("no LZ4 blocks")
	}
	return out, nil
}

// lz4Block appends the decoding of one LZ4 block to out. Legacy-frame
// blocks are independent: a match never reaches before its block.
func lz4Block(out, in []byte) ([]byte, error) {
	errCorrupt := errors.New("corrupt LZ4 block")
	length := func(n int, i *int) (int, error) {
		if n != 15 {
			return n, nil
		}
		for {
			if *i >= len(in) {
				return 0, errCorrupt
			}
			b := in[*i]
			*i++
			n += int(b)
			if b != 255 {
				return n, nil
			}
		}
	}
	start := len(out)
	for i := 0; i < len(in); {
		token := in[i]
		i++
		lit, err := length(int(token>>4), &i)
		if err != nil {
			return nil, err
		}
		if i+lit > len(in) {
			return nil, errCorrupt
		}
		out = append(out, in[i:i+lit]...)
		i += lit
		if i == len(in) {
			break // the last sequence has literals only
		}
		if i+2 > len(in) {
			return nil, errCorrupt
		}
		offset := int(binary.LittleEndian.Uint16(in[i:]))
		i += 2
		match, err := length(int(token&15), &i)
		if err != nil {
			return nil, err
		}
		match += 4
		if offset == 0 || offset > len(out)-start {
			return nil, errCorrupt
		}
		if len(out)-start+match > lz4LegacyBlock {
			return nil, errCorrupt
		}
		from := len(out) - offset
		for k := range match { // byte by byte: a match may overlap itself
			out = append(out, out[from+k])
		}
	}
	return out, nil
}
