// The rebuild, done the way containers/storage does after a partial pull: vbatts/tar-split's
// asm.WriteOutputTarStream replays the tar-split lines, and the file getter hands it each file's content
// read through the TOC alone (each chunk's compressed range [offset, next offset or endOffset)
// decompressed on its own, chunkSize bytes taken). The rebuilt tar must equal the full decompression of
// the blob (and --source-tar) byte for byte, and re-read with the archive/tar fork it must give the same
// headers as the member walk.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

type tocGetter struct {
	f      *os.File
	toc    *tocDoc
	byName map[string]int
}

func num(m map[string]json.RawMessage, k string) int64 {
	var v int64
	_ = json.Unmarshal(m[k], &v)
	return v
}

func (g *tocGetter) Get(name string) (io.ReadCloser, error) {
	i, ok := g.byName[name]
	if !ok {
		return nil, fmt.Errorf("rebuild: tar-split names %q, the TOC has no such entry", name)
	}
	var parts []io.Reader
	for k := i; k < len(g.toc.fields); k++ {
		e := g.toc.fields[k]
		if k > i && normalize(e["type"]) != `"chunk"` {
			break
		}
		off, size := num(e, "offset"), num(e, "chunkSize")
		if size == 0 {
			break
		}
		end := num(e, "endOffset")
		if k+1 < len(g.toc.fields) && normalize(g.toc.fields[k+1]["type"]) == `"chunk"` {
			end = num(g.toc.fields[k+1], "offset")
		}
		dec, err := zstd.NewReader(io.NewSectionReader(g.f, off, end-off), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(dec, size))
		dec.Close()
		if err != nil || int64(len(data)) != size {
			return nil, fmt.Errorf("rebuild: %q: TOC entry %d: %d bytes from compressed range %d..%d: got %d (%v)", name, k, size, off, end, len(data), err)
		}
		parts = append(parts, bytes.NewReader(data))
	}
	return io.NopCloser(io.MultiReader(parts...)), nil
}

// lockstep is a reader over the rebuilt tar that compares every byte with the other streams.
type lockstep struct {
	r      io.Reader
	others []io.Reader
	names  []string
	n      int64
	err    error // the first difference, reported as is
	buf    []byte
}

func (l *lockstep) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for k, o := range l.others {
		if cap(l.buf) < n {
			l.buf = make([]byte, n)
		}
		q := l.buf[:n]
		m, oerr := io.ReadFull(o, q)
		if m < n || !bytes.Equal(p[:m], q[:m]) {
			i := 0
			for i < m && p[i] == q[i] {
				i++
			}
			l.err = fmt.Errorf("the tar rebuilt from tar-split and the TOC differs from %s at byte %d", l.names[k], l.n+int64(i))
			if oerr != nil && i == m {
				l.err = fmt.Errorf("%w (%s ends there: %v)", l.err, l.names[k], oerr)
			}
			return 0, l.err
		}
	}
	l.n += int64(n)
	return n, err
}

func (l *lockstep) finish() error {
	for k, o := range l.others {
		if n, _ := io.Copy(io.Discard, o); n > 0 {
			return fmt.Errorf("the tar rebuilt from tar-split and the TOC ends at byte %d, %s has %d more bytes", l.n, l.names[k], n)
		}
	}
	return nil
}

func rebuild(f *os.File, m *blobMap, toc *tocDoc, splitRaw []byte, headers []*tar.Header, sourceTar string) error {
	g := &tocGetter{f: f, toc: toc, byName: map[string]int{}}
	for i, e := range toc.fields {
		var name string
		if normalize(e["type"]) != `"chunk"` && json.Unmarshal(e["name"], &name) == nil {
			g.byName[name] = i
		}
	}
	dec, err := zstd.NewReader(io.NewSectionReader(f, 0, m.size), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	ls := &lockstep{others: []io.Reader{dec}, names: []string{"the blob's decompression"}}
	if sourceTar != "" {
		src, err := os.Open(sourceTar)
		if err != nil {
			return err
		}
		defer src.Close()
		ls.others = append(ls.others, src)
		ls.names = append(ls.names, "--source-tar")
	}
	out := asm.NewOutputTarStream(g, storage.NewJSONUnpacker(bytes.NewReader(splitRaw)))
	defer out.Close()
	ls.r = out
	tr := tar.NewReader(ls)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if ls.err != nil {
			return ls.err
		}
		if err != nil {
			return fmt.Errorf("rebuilt tar, member %d: %w", i, err)
		}
		if i >= len(headers) || !reflect.DeepEqual(h, headers[i]) {
			return fmt.Errorf("rebuilt tar, member %d (%q): header differs from the blob's", i, h.Name)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			if ls.err != nil {
				return ls.err
			}
			return fmt.Errorf("rebuilt tar, member %d (%q): %w", i, h.Name, err)
		}
	}
	if ls.err != nil {
		return ls.err
	}
	if _, err := io.Copy(io.Discard, ls); err != nil {
		return err
	}
	return ls.finish()
}
