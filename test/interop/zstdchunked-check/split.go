// tar-split metadata (docs/format.md#tar-split): the skippable frame after the TOC, authenticated by the
// TOC's tarSplitDigest (sha256 of the compressed payload), decompressed and parsed line by line. Each line must
// be the canonical JSON of what it says, with positions counting from 0.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/tar/storage"
)

type splitLine struct {
	Type     storage.Type `json:"type"`
	Name     string       `json:"name"`
	NameRaw  []byte       `json:"name_raw"`
	Size     int64        `json:"size"`
	Payload  []byte       `json:"payload"`
	Position int          `json:"position"`
}

func (l *splitLine) name() []byte {
	if len(l.NameRaw) > 0 {
		return l.NameRaw
	}
	return []byte(l.Name)
}

func decompress(b []byte, limit int64) ([]byte, error) {
	dec, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := io.ReadAll(io.LimitReader(dec, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompresses to more than %d bytes", limit)
	}
	return out, nil
}

func parseTarSplit(raw []byte) ([]*splitLine, []byte, error) {
	var lines []*splitLine
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return nil, nil, fmt.Errorf("tar-split: does not end with a newline")
	}
	for pos, text := range bytes.Split(raw[:len(raw)-1], []byte("\n")) {
		var l splitLine
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, nil, fmt.Errorf("tar-split line %d: %w", pos, err)
		}
		if l.Position != pos {
			return nil, nil, fmt.Errorf("tar-split line %d: position %d (positions count from 0)", pos, l.Position)
		}
		if l.Type != storage.FileType && l.Type != storage.SegmentType {
			return nil, nil, fmt.Errorf("tar-split line %d: type %d", pos, l.Type)
		}
		if l.Type == storage.SegmentType && (len(l.Payload) == 0 || l.Name != "" || l.NameRaw != nil || l.Size != 0) {
			return nil, nil, fmt.Errorf("tar-split line %d: a segment must have a non-empty payload and nothing else (docs/format.md#tar-split)", pos)
		}
		if want := tarSplitLine(&l); string(text) != want {
			return nil, nil, fmt.Errorf("tar-split line %d: not the canonical JSON of docs/format.md#tar-split: %s", pos, firstDiff(string(text), want))
		}
		lines = append(lines, &l)
	}
	return lines, raw, nil
}
