// stargz-snapshotter 0.12's reader on the same blob: estargz.Open with the zstd:chunked decompressor
// (footer, TOC), VerifyTOC against --toc-digest (or Verifiers() without one: offsets unique, a chunk
// digest for every chunk), then every chunk of every regular file read through the reader and checked
// with its verifier, and each file's whole digest.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/containerd/stargz-snapshotter/estargz/zstdchunked"
	"github.com/opencontainers/go-digest"
)

func checkStargz(f *os.File, size int64, tocDigest string) error {
	zd := new(zstdchunked.Decompressor)
	r, err := estargz.Open(io.NewSectionReader(f, 0, size), estargz.WithDecompressors(zd))
	if err != nil {
		return fmt.Errorf("stargz: estargz.Open: %w", err)
	}
	var v estargz.TOCEntryVerifier
	if tocDigest != "" {
		v, err = r.VerifyTOC(digest.Digest(tocDigest))
	} else {
		v, err = r.Verifiers()
	}
	if err != nil {
		return fmt.Errorf("stargz: verify TOC: %w", err)
	}
	foot := make([]byte, zd.FooterSize())
	if _, err := f.ReadAt(foot, size-zd.FooterSize()); err != nil {
		return err
	}
	_, off, n, err := zd.ParseFooter(foot)
	if err != nil {
		return fmt.Errorf("stargz: footer: %w", err)
	}
	toc, _, err := zd.ParseTOC(io.NewSectionReader(f, off, n))
	if err != nil {
		return fmt.Errorf("stargz: ParseTOC: %w", err)
	}
	for _, e := range toc.Entries {
		if e.Type != "reg" || e.Size == 0 {
			continue
		}
		if err := stargzFile(r, v, e); err != nil {
			return err
		}
	}
	return nil
}

func stargzFile(r *estargz.Reader, v estargz.TOCEntryVerifier, e *estargz.TOCEntry) error {
	fr, err := r.OpenFile(e.Name)
	if err != nil {
		return fmt.Errorf("stargz: OpenFile %q: %w", e.Name, err)
	}
	whole := digest.Canonical.Digester()
	for off := int64(0); off < e.Size; {
		ce, ok := r.ChunkEntryForOffset(e.Name, off)
		if !ok {
			return fmt.Errorf("stargz: %q: no chunk at file offset %d", e.Name, off)
		}
		cv, err := v.Verifier(ce)
		if err != nil {
			return fmt.Errorf("stargz: %q chunk at %d: %w", e.Name, off, err)
		}
		n := ce.ChunkSize
		if n <= 0 || ce.ChunkOffset+n > e.Size {
			n = e.Size - ce.ChunkOffset
		}
		buf := make([]byte, n)
		if _, err := fr.ReadAt(buf, ce.ChunkOffset); err != nil && err != io.EOF {
			return fmt.Errorf("stargz: %q chunk at %d: %w", e.Name, off, err)
		}
		cv.Write(buf)
		whole.Hash().Write(buf)
		if !cv.Verified() {
			return fmt.Errorf("stargz: %q chunk at %d: chunk digest mismatch", e.Name, ce.ChunkOffset)
		}
		off = ce.ChunkOffset + n
	}
	if e.Digest != "" && whole.Digest().String() != e.Digest {
		return fmt.Errorf("stargz: %q: file digest mismatch (content %s, TOC %s)", e.Name, whole.Digest(), e.Digest)
	}
	return nil
}
