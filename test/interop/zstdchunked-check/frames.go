// Frame map of a zstd:chunked blob (docs/format.md#byte-layout): walks the blob frame by frame from its
// first byte, reading only zstd frame and block headers (RFC 8878 §3.1), so every data frame's compressed range is
// known without trusting the TOC; then decodes each data frame on its own, which gives its uncompressed
// range and proves that a reader can start decoding at any frame start.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

const (
	zstdMagic      = 0xFD2FB528
	skippableMagic = 0x184D2A50
	footerSize     = 40
	footerMagic    = "GnUlInUx"
	maxMetadata    = 1 << 30 // refuse absurd TOC/tar-split sizes instead of allocating them
)

// frame is one zstd or skippable frame. For skippable frames cStart/cEnd cover the payload only.
type frame struct {
	skippable    bool
	start        int64 // first byte of the frame (magic)
	cStart, cEnd int64 // data frames: whole frame; skippable: payload
	uStart, uEnd int64 // data frames: range in the decompressed stream
}

type blobMap struct {
	size     int64
	data     []frame // data frames in order
	meta     []frame // skippable frames in order (TOC, tar-split, footer)
	byUStart map[int64]int
	uSize    int64
}

func readAt(f *os.File, off int64, n int64) ([]byte, error) {
	if n < 0 || n > maxMetadata {
		return nil, fmt.Errorf("refusing to read %d bytes at offset %d", n, off)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("read %d bytes at offset %d: %w", n, off, err)
	}
	return b, nil
}

// zstdFrameEnd returns the offset just after the zstd frame that starts at off.
func zstdFrameEnd(f *os.File, off, size int64) (int64, error) {
	h, err := readAt(f, off, min64(18, size-off))
	if err != nil {
		return 0, err
	}
	if len(h) < 6 {
		return 0, fmt.Errorf("zstd frame at offset %d: truncated header", off)
	}
	fhd := h[4]
	if fhd&0x08 != 0 {
		return 0, fmt.Errorf("zstd frame at offset %d: reserved bit set in frame header", off)
	}
	single := fhd&0x20 != 0
	n := int64(5)
	if !single {
		n++ // window descriptor
	}
	n += []int64{0, 1, 2, 4}[fhd&3]
	fcs := []int64{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && single {
		fcs = 1
	}
	pos := off + n + fcs
	for {
		bh, err := readAt(f, pos, 3)
		if err != nil {
			return 0, fmt.Errorf("zstd frame at offset %d: block header at %d: %w", off, pos, err)
		}
		v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		last, typ, bsize := v&1 == 1, (v>>1)&3, int64(v>>3)
		pos += 3
		switch typ {
		case 0, 2:
			pos += bsize
		case 1:
			pos++
		default:
			return 0, fmt.Errorf("zstd frame at offset %d: reserved block type at %d", off, pos-3)
		}
		if pos > size {
			return 0, fmt.Errorf("zstd frame at offset %d runs past the end of the blob", off)
		}
		if last {
			break
		}
	}
	if fhd&0x04 != 0 {
		pos += 4
	}
	if pos > size {
		return 0, fmt.Errorf("zstd frame at offset %d: checksum runs past the end of the blob", off)
	}
	return pos, nil
}

// mapBlob walks every frame: data frames first, then exactly three skippable frames (TOC, tar-split,
// footer), the footer being the blob's last 48 bytes.
func mapBlob(f *os.File, size int64) (*blobMap, error) {
	m := &blobMap{size: size, byUStart: map[int64]int{}}
	for off := int64(0); off < size; {
		h, err := readAt(f, off, min64(8, size-off))
		if err != nil {
			return nil, err
		}
		if len(h) < 8 {
			return nil, fmt.Errorf("offset %d: %d trailing bytes are not a frame", off, len(h))
		}
		magic := binary.LittleEndian.Uint32(h)
		switch {
		case magic == zstdMagic:
			if len(m.meta) > 0 {
				return nil, fmt.Errorf("offset %d: zstd data frame after the metadata frames (docs/format.md#byte-layout: data frames first)", off)
			}
			end, err := zstdFrameEnd(f, off, size)
			if err != nil {
				return nil, err
			}
			m.data = append(m.data, frame{start: off, cStart: off, cEnd: end})
			off = end
		case magic&0xFFFFFFF0 == skippableMagic:
			if magic != skippableMagic {
				return nil, fmt.Errorf("offset %d: skippable frame magic %#x, docs/format.md#skippable-frames uses %#x", off, magic, skippableMagic)
			}
			n := int64(binary.LittleEndian.Uint32(h[4:]))
			if off+8+n > size {
				return nil, fmt.Errorf("offset %d: skippable frame of %d bytes runs past the end of the blob", off, n)
			}
			m.meta = append(m.meta, frame{skippable: true, start: off, cStart: off + 8, cEnd: off + 8 + n})
			off += 8 + n
		default:
			return nil, fmt.Errorf("offset %d: no zstd or skippable frame magic (%#x)", off, magic)
		}
	}
	if len(m.meta) != 3 {
		return nil, fmt.Errorf("found %d skippable frames after the data frames, docs/format.md#metadata-frames wants 3 (TOC, tar-split, footer)", len(m.meta))
	}
	return m, decodeFrames(f, m)
}

// decodeFrames decodes each data frame separately and records its uncompressed range.
func decodeFrames(f *os.File, m *blobMap) error {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	var u int64
	for i := range m.data {
		fr := &m.data[i]
		if err := dec.Reset(io.NewSectionReader(f, fr.cStart, fr.cEnd-fr.cStart)); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, dec)
		if err != nil {
			return fmt.Errorf("data frame %d at offset %d does not decode on its own: %w", i, fr.cStart, err)
		}
		if n == 0 {
			return fmt.Errorf("data frame %d at offset %d is empty (docs/format.md#byte-layout: tsconvert never writes an empty frame)", i, fr.cStart)
		}
		fr.uStart, fr.uEnd = u, u+n
		m.byUStart[u] = i
		u += n
	}
	m.uSize = u
	return nil
}

// footer holds the legacy 40-byte footer's fields (docs/format.md#footer).
type footer struct{ tocOffset, tocLength, tocUncompressed, kind uint64 }

func readFooter(f *os.File, m *blobMap) (footer, error) {
	last := m.meta[2]
	if last.cEnd-last.cStart != footerSize || last.cEnd != m.size {
		return footer{}, fmt.Errorf("the last skippable frame holds %d bytes, the footer is %d bytes and ends the blob", last.cEnd-last.cStart, footerSize)
	}
	b, err := readAt(f, last.cStart, footerSize)
	if err != nil {
		return footer{}, err
	}
	if string(b[32:40]) != footerMagic {
		return footer{}, fmt.Errorf("footer magic %q, want %q", b[32:40], footerMagic)
	}
	le := binary.LittleEndian
	ft := footer{le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])}
	if ft.kind != 1 {
		return ft, fmt.Errorf("footer manifest type %d, want 1", ft.kind)
	}
	toc := m.meta[0]
	if int64(ft.tocOffset) != toc.cStart || int64(ft.tocLength) != toc.cEnd-toc.cStart {
		return ft, fmt.Errorf("footer says TOC at %d length %d, the first skippable frame's payload is at %d length %d",
			ft.tocOffset, ft.tocLength, toc.cStart, toc.cEnd-toc.cStart)
	}
	return ft, nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
