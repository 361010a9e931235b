// The blob layout of docs/format.md#byte-layout for one variant.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/archive/tar"
)

// errNotApplicable: the source tar has no member the variant needs (it is then left out).
var errNotApplicable = errors.New("not applicable")

type builder struct {
	blob    bytes.Buffer
	pending []byte // header bytes waiting for their frame
	enc     *zstd.Encoder
	lines   []splitEntry
	// absorbed is the member whose padding and header blocks were already written into the previous
	// payload frame (variant padding-in-payload), or -1.
	absorbed int
}

func (b *builder) frame(data []byte) (int64, int64) {
	start := int64(b.blob.Len())
	b.blob.Write(b.enc.EncodeAll(data, nil))
	return start, int64(b.blob.Len())
}

func (b *builder) closeHeader() {
	if len(b.pending) > 0 {
		b.frame(b.pending)
		b.pending = nil
	}
}

func (b *builder) line(e splitEntry) {
	e.Position = len(b.lines)
	b.lines = append(b.lines, e)
}

// firstWith returns the index of the first member matching ok, or -1.
func firstWith(s *source, ok func(m member) bool) int {
	for i, m := range s.members {
		if ok(m) {
			return i
		}
	}
	return -1
}

func build(s *source, v string, chunkSize int, enc *zstd.Encoder) ([]byte, out, error) {
	b := &builder{enc: enc, absorbed: -1}
	var entries []tocEntry
	multi := firstWith(s, func(m member) bool { return len(m.content) > chunkSize })
	small := firstWith(s, func(m member) bool { return len(m.content) > 0 })
	dotted := firstWith(s, func(m member) bool { return strings.HasPrefix(m.h.Name, "./") && len(m.content) > 0 })
	frac := firstWith(s, func(m member) bool { return m.h.ModTime.Nanosecond() != 0 })
	atime := firstWith(s, func(m member) bool { return !m.h.AccessTime.IsZero() })
	html := firstWith(s, func(m member) bool { return strings.ContainsAny(m.h.Name+m.h.Linkname, "<>&") })
	need := map[string]int{"bad-chunk-digest": multi, "chunk-offset-shifted": multi, "toc-mode-differs": small,
		"bad-tarsplit-crc": small, "padding-in-payload": small, "toc-name-normalized": dotted,
		"toc-modtime-rounded": frac, "toc-missing-atime": atime, "html-escaped-name": html}
	if i, ok := need[v]; ok && i < 0 {
		return nil, out{}, errNotApplicable
	}
	for i, m := range s.members {
		if b.absorbed != i {
			b.pending = append(b.pending, m.raw...)
		}
		b.line(splitEntry{Type: 2, Payload: m.raw})
		e := metadata(m.h)
		if e.Type == "" {
			return nil, out{}, fmt.Errorf("member %q: type %q", m.h.Name, m.h.Typeflag)
		}
		if e.Type == "reg" {
			e.Digest = shaHex(m.content)
		}
		fe := splitEntry{Type: 1, Name: m.h.Name, Size: m.h.Size}
		if m.h.Size > 0 {
			fe.Payload = crc(m.content)
		}
		chunks := payload(b, m, chunkSize, v == "padding-in-payload" && i == small, s, i)
		if len(chunks) > 0 {
			first := chunks[0]
			e.Offset, e.ChunkSize, e.ChunkDigest, e.EndOffset = first.Offset, first.ChunkSize, first.ChunkDigest, first.EndOffset
			chunks = chunks[1:]
		}
		switch {
		case v == "toc-mode-differs" && i == small:
			e.Mode ^= 0o022
		case v == "toc-modtime-rounded" && i == frac:
			e.ModTime = m.h.ModTime.UTC().Round(time.Second).Format(time.RFC3339)
		case v == "toc-name-normalized" && i == dotted:
			e.Name = strings.TrimPrefix(e.Name, "./")
		case v == "toc-missing-atime" && i == atime:
			e.AccessTime = ""
		case v == "bad-tarsplit-crc" && i == small:
			fe.Payload[7] ^= 1
		case v == "bad-chunk-digest" && i == multi:
			chunks[0].ChunkDigest = shaHex([]byte("not this chunk"))
		case v == "chunk-offset-shifted" && i == multi:
			chunks[0].Offset++
		}
		entries = append(entries, e)
		entries = append(entries, chunks...)
		b.line(fe)
	}
	trailer, rest := s.trailer, s.rest
	if v == "missing-eoa" {
		trailer, rest = trailer[:len(trailer)-1024], nil
	}
	b.pending = append(b.pending, trailer...)
	b.pending = append(b.pending, rest...)
	b.closeHeader()
	if len(trailer) > 0 {
		b.line(splitEntry{Type: 2, Payload: trailer})
	}
	for off := 0; off < len(rest); off += 1 << 20 {
		end := off + 1<<20
		if end > len(rest) {
			end = len(rest)
		}
		b.line(splitEntry{Type: 2, Payload: rest[off:end]})
	}
	return b.finish(entries, v)
}

// payload writes a member's content as fixed-size chunk frames and returns their TOC entries.
func payload(b *builder, m member, chunkSize int, withPadding bool, s *source, i int) []tocEntry {
	if m.h.Typeflag != tar.TypeReg || len(m.content) == 0 {
		return nil
	}
	b.closeHeader()
	var out []tocEntry
	for off := 0; off < len(m.content); off += chunkSize {
		end := off + chunkSize
		if end > len(m.content) {
			end = len(m.content)
		}
		data := m.content[off:end]
		last := end == len(m.content)
		if last && withPadding && i+1 < len(s.members) {
			// the stargz layout: padding and the next header stay in the payload's frame
			data = append(append([]byte(nil), data...), s.members[i+1].raw...)
			b.absorbed = i + 1
		}
		start, stop := b.frame(data)
		e := tocEntry{Type: "chunk", Name: m.h.Name, Offset: start, ChunkSize: int64(end - off),
			ChunkOffset: int64(off), ChunkDigest: shaHex(m.content[off:end])}
		if last {
			e.EndOffset = stop
		}
		out = append(out, e)
	}
	return out
}

func (b *builder) finish(entries []tocEntry, v string) ([]byte, out, error) {
	var split bytes.Buffer
	for _, l := range b.lines {
		split.Write(encodeJSON(l, false))
		split.WriteByte('\n')
	}
	splitComp := b.enc.EncodeAll(split.Bytes(), nil)
	if entries == nil {
		entries = []tocEntry{}
	}
	t := toc{Version: 1, Entries: entries, TarSplitDigest: shaHex(splitComp)}
	if v == "bad-tarsplit-digest" {
		t.TarSplitDigest = shaHex([]byte("another tar-split"))
	}
	tocJSON := encodeJSON(t, v == "html-escaped-name")
	tocComp := b.enc.EncodeAll(tocJSON, nil)
	tocOff := skippable(&b.blob, tocComp)
	splitOff := skippable(&b.blob, splitComp)
	var foot [40]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(tocOff))
	binary.LittleEndian.PutUint64(foot[8:], uint64(len(tocComp)))
	binary.LittleEndian.PutUint64(foot[16:], uint64(len(tocJSON)))
	binary.LittleEndian.PutUint64(foot[24:], 1)
	copy(foot[32:], "GnUlInUx")
	skippable(&b.blob, foot[:])
	return b.blob.Bytes(), out{
		TOCDigest:        shaHex(tocJSON),
		ManifestChecksum: shaHex(tocComp),
		ManifestPosition: fmt.Sprintf("%d:%d:%d:1", tocOff, len(tocComp), len(tocJSON)),
		TarSplitPosition: fmt.Sprintf("%d:%d:%d", splitOff, len(splitComp), split.Len()),
	}, nil
}
