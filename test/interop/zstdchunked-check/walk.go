// The member walk: reads the blob's full decompression (klauspost's standard decoder, skippable frames
// skipped) with vbatts/tar-split's archive/tar fork in RawAccounting mode, and for each member checks, in
// order: its tar-split segment and file lines (docs/format.md#tar-split, CRC-64/ISO of the content), its TOC
// entry or entries (docs/format.md#toc-metadata-fields and #toc-payload-fields, every field, then canonical
// bytes), and where its payload sits among the frames (docs/format.md#data-frames: a payload starts and ends
// on frame boundaries, one frame per chunk, fixed chunk size, no frame boundary inside a member's header
// blocks). Then the trailer: end-of-archive blocks, zero blocks only, and its tar-split segments.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/storage"
)

const maxTrailingSegment = 1 << 20

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type walker struct {
	m         *blobMap
	toc       *tocDoc
	split     []*splitLine
	li, ti    int   // next tar-split line, next TOC entry
	chunkSize int64 // fixed chunk size seen so far (or given by --chunk-size)
	canonical []string
	headers   []*tar.Header
	isChunk   map[int]bool // data frames that hold one payload chunk
	res       *result
}

func sha(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

func (w *walker) nextLine(what string) (*splitLine, error) {
	if w.li >= len(w.split) {
		return nil, fmt.Errorf("tar-split has %d lines, %s is missing", len(w.split), what)
	}
	l := w.split[w.li]
	w.li++
	return l, nil
}

func (w *walker) segment(want []byte, what string) error {
	l, err := w.nextLine(what)
	if err != nil {
		return err
	}
	if l.Type != storage.SegmentType {
		return fmt.Errorf("tar-split line %d: type %d, want a segment (type 2) holding %s", l.Position, l.Type, what)
	}
	if !bytes.Equal(l.Payload, want) {
		return fmt.Errorf("tar-split line %d: segment of %d bytes differs from the %d bytes of %s in the stream", l.Position, len(l.Payload), len(want), what)
	}
	return nil
}

func (w *walker) fileLine(i int, h *tar.Header, crc []byte) error {
	l, err := w.nextLine(fmt.Sprintf("the file line of member %d (%q)", i, h.Name))
	if err != nil {
		return err
	}
	at := fmt.Sprintf("tar-split line %d (member %d)", l.Position, i)
	if l.Type != storage.FileType {
		return fmt.Errorf("%s: type %d, want a file line (type 1) for %q", at, l.Type, h.Name)
	}
	if got := string(l.name()); got != h.Name {
		return fmt.Errorf("%s: name %q, the tar header says %q", at, got, h.Name)
	}
	if l.Size != h.Size {
		return fmt.Errorf("%s (%q): size %d, the tar header says %d", at, h.Name, l.Size, h.Size)
	}
	if h.Size == 0 {
		crc = nil
	}
	if !bytes.Equal(l.Payload, crc) || (l.Payload == nil) != (crc == nil) {
		return fmt.Errorf("%s (%q): CRC-64 payload %s, the content's CRC-64/ISO is %s", at, h.Name, hexOrNull(l.Payload), hexOrNull(crc))
	}
	return nil
}

func hexOrNull(b []byte) string {
	if b == nil {
		return "null"
	}
	return hex.EncodeToString(b)
}

// frameAfter returns the index of the first data frame starting after u.
func (w *walker) frameAfter(u int64) int {
	return sort.Search(len(w.m.data), func(j int) bool { return w.m.data[j].uStart > u })
}

type chunk struct {
	frame  int
	offset int64 // chunkOffset in the file
	size   int64
	digest string
}

// payload reads a member's content from tr, cutting it at the data frames' boundaries.
func (w *walker) payload(i int, h *tar.Header, tr io.Reader, ps int64) ([]chunk, string, []byte, error) {
	whole, crc := sha256.New(), crc64.New(storage.CRCTable)
	var chunks []chunk
	var n int64
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		j, ok := w.m.byUStart[ps]
		if !ok {
			return nil, "", nil, fmt.Errorf("member %d (%q): payload starts at stream offset %d, inside data frame %d (docs/format.md#data-frames: a frame ends before a file's first payload byte)", i, h.Name, ps, w.frameAfter(ps)-1)
		}
		for ; n < h.Size; j++ {
			fr := w.m.data[j]
			if fr.uEnd > ps+h.Size {
				return nil, "", nil, fmt.Errorf("member %d (%q): payload ends at stream offset %d, inside data frame %d (%d..%d); payload frames hold payload bytes only", i, h.Name, ps+h.Size, j, fr.uStart, fr.uEnd)
			}
			buf := make([]byte, fr.uEnd-fr.uStart)
			if _, err := io.ReadFull(tr, buf); err != nil {
				return nil, "", nil, fmt.Errorf("member %d (%q): reading payload: %w", i, h.Name, err)
			}
			whole.Write(buf)
			crc.Write(buf)
			w.isChunk[j] = true
			chunks = append(chunks, chunk{frame: j, offset: n, size: int64(len(buf)), digest: sha(buf)})
			n += int64(len(buf))
		}
	}
	extra, err := io.Copy(whole, tr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("member %d (%q): reading payload: %w", i, h.Name, err)
	}
	if extra != 0 {
		return nil, "", nil, fmt.Errorf("member %d (%q): %d payload bytes for a %s member", i, h.Name, extra, string(h.Typeflag))
	}
	return chunks, "sha256:" + hex.EncodeToString(whole.Sum(nil)), crc.Sum(nil), nil
}

// checkChunkSizes enforces the fixed chunk size of docs/format.md#data-frames: every chunk but a file's
// last has it.
func (w *walker) checkChunkSizes(i int, h *tar.Header, chunks []chunk) error {
	for k, c := range chunks {
		last := k == len(chunks)-1
		if w.chunkSize == 0 && !last {
			w.chunkSize = c.size
		}
		if (!last && c.size != w.chunkSize) || (w.chunkSize != 0 && c.size > w.chunkSize) {
			return fmt.Errorf("member %d (%q): chunk %d holds %d bytes, the layer's fixed chunk size is %d (docs/format.md#data-frames)", i, h.Name, k, c.size, w.chunkSize)
		}
	}
	return nil
}

func (w *walker) expectEntries(h *tar.Header, base *entryBuilder, typ, digest string, chunks []chunk) []*entryBuilder {
	if typ == "reg" {
		base.str("digest", digest, true)
	}
	out := []*entryBuilder{base}
	for k, c := range chunks {
		e := base
		if k > 0 {
			e = &entryBuilder{}
			e.str("type", "chunk", true)
			e.str("name", h.Name, true)
			e.num("chunkOffset", c.offset)
			out = append(out, e)
		}
		fr := w.m.data[c.frame]
		e.num("offset", fr.cStart)
		if k == len(chunks)-1 {
			e.num("endOffset", fr.cEnd)
		}
		e.num("chunkSize", c.size)
		e.str("chunkDigest", c.digest, true)
	}
	return out
}

func (w *walker) member(i int, h *tar.Header, raw []byte, tr io.Reader, ps, hdrStart int64) error {
	desc := fmt.Sprintf("member %d (%q)", i, h.Name)
	if j := w.frameAfter(hdrStart); j < len(w.m.data) && w.m.data[j].uStart < ps {
		return fmt.Errorf("%s: data frame %d starts at stream offset %d, inside the member's header blocks %d..%d (docs/format.md#data-frames)", desc, j, w.m.data[j].uStart, hdrStart, ps)
	}
	if err := w.segment(raw, "the padding and header blocks of "+desc); err != nil {
		return err
	}
	base, typ, err := headerEntry(h)
	if err != nil {
		return fmt.Errorf("%s: %w", desc, err)
	}
	chunks, digest, crc, err := w.payload(i, h, tr, ps)
	if err != nil {
		return err
	}
	if err := w.fileLine(i, h, crc); err != nil {
		return err
	}
	if err := w.checkChunkSizes(i, h, chunks); err != nil {
		return err
	}
	for k, e := range w.expectEntries(h, base, typ, digest, chunks) {
		what := desc
		if k > 0 {
			what = fmt.Sprintf("chunk %d of %s", k, desc)
		}
		if err := compareEntry(w.toc, w.ti, e, what); err != nil {
			return err
		}
		w.canonical = append(w.canonical, e.json())
		w.ti++
	}
	if w.ti < len(w.toc.fields) && normalize(w.toc.fields[w.ti]["type"]) == `"chunk"` {
		return fmt.Errorf("TOC entry %d: a chunk entry after the last chunk of %s (its payload has %d frames)", w.ti, desc, len(chunks))
	}
	w.res.Members++
	if typ == "reg" {
		w.res.Files++
	}
	w.res.Chunks += len(chunks)
	return nil
}

// walk runs the member walk over the decompressed blob.
func (w *walker) walk(f *os.File) error {
	dec, err := zstd.NewReader(io.NewSectionReader(f, 0, w.m.size), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	cr := &countingReader{r: dec}
	tr := tar.NewReader(cr)
	tr.RawAccounting = true
	var prevPad int64
	for i := 0; ; i++ {
		start := cr.n
		h, err := tr.Next()
		if err == io.EOF {
			return w.trailer(cr, tr.RawBytes(), prevPad)
		}
		if err != nil {
			return fmt.Errorf("tar member %d at stream offset %d: %w", i, start, err)
		}
		raw := append([]byte(nil), tr.RawBytes()...)
		ps := cr.n
		if err := w.member(i, h, raw, tr, ps, ps-int64(len(raw))+prevPad); err != nil {
			return err
		}
		w.headers = append(w.headers, h)
		prevPad = 0
		if h.Typeflag == tar.TypeReg {
			prevPad = (512 - h.Size%512) % 512
		}
	}
}

// trailer checks the end of the archive: the last padding, two zero end-of-archive blocks, then only
// whole zero blocks (docs/format.md#fallback-to-plain-zstd), and the tar-split segments that hold them
// (docs/format.md#tar-split).
func (w *walker) trailer(cr *countingReader, raw []byte, pad int64) error {
	raw = append([]byte(nil), raw...)
	eoa := raw[min64(pad, int64(len(raw))):]
	if len(eoa) != 1024 || !allZero(eoa) {
		return fmt.Errorf("no end-of-archive blocks: after the last member (stream offset %d) the stream has %d bytes, not two zero 512-byte blocks", cr.n-int64(len(eoa)), len(eoa))
	}
	if err := w.segment(raw, "the last padding and the end-of-archive blocks"); err != nil {
		return err
	}
	rest, err := io.ReadAll(cr)
	if err != nil {
		return fmt.Errorf("decompressing the trailer: %w", err)
	}
	if !allZero(rest) || len(rest)%512 != 0 {
		return fmt.Errorf("after the end-of-archive blocks: %d bytes that are not whole zero blocks (docs/format.md#fallback-to-plain-zstd)", len(rest))
	}
	for off := 0; off < len(rest); off += maxTrailingSegment {
		end := off + maxTrailingSegment
		if end > len(rest) {
			end = len(rest)
		}
		if err := w.segment(rest[off:end], "trailing zero bytes "+strconv.Itoa(off)+".."+strconv.Itoa(end)+" after the end-of-archive blocks (segments of 1 MiB)"); err != nil {
			return err
		}
	}
	if w.li != len(w.split) {
		return fmt.Errorf("tar-split line %d: more lines after the end of the archive", w.li)
	}
	if w.ti != len(w.toc.entries) {
		return fmt.Errorf("TOC entry %d: more entries than tar members", w.ti)
	}
	if cr.n != w.m.uSize {
		return fmt.Errorf("decompressed stream is %d bytes, the data frames hold %d", cr.n, w.m.uSize)
	}
	return w.checkFrames()
}

// checkFrames: every data frame is either one payload chunk or holds no payload byte, and a frame of
// header and trailer bytes ends early only where a payload starts (else it holds at least 1 MiB).
func (w *walker) checkFrames() error {
	chunkFrames := w.isChunk
	for j, fr := range w.m.data {
		if chunkFrames[j] || j == len(w.m.data)-1 || chunkFrames[j+1] {
			continue
		}
		if fr.uEnd-fr.uStart < maxTrailingSegment {
			return fmt.Errorf("data frame %d (stream %d..%d) holds header bytes only and ends after %d bytes, before 1 MiB and not at a payload (docs/format.md#data-frames)", j, fr.uStart, fr.uEnd, fr.uEnd-fr.uStart)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
