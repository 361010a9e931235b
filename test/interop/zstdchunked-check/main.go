// zstdchunked-check: tsconvert's oracle for the zstd:chunked blobs it writes (docs/format.md), built
// offline from Debian's Go packages so that our own TypeScript parser is never the only judge. It checks
// one blob, strictly, and names the first difference it finds:
//
//  1. frames: data frames, then TOC, tar-split and a 40-byte footer in skippable frames (footer fields);
//  2. TOC: digests against --toc-digest / --manifest-checksum, strict JSON, tarSplitDigest;
//  3. tar-split: digest, canonical lines, positions;
//  4. member walk over the blob's decompression with vbatts/tar-split's archive/tar fork (walk.go);
//  5. rebuild from tar-split + TOC payloads with tar-split's asm, compared byte for byte (rebuild.go);
//  6. stargz-snapshotter's reader: TOC digest, every chunk and file digest (stargz.go).
//
// Usage: zstdchunked-check [--toc-digest D] [--manifest-checksum D] [--annotations stargz|containers]
//
//	[--manifest-position P] [--tarsplit-position P] [--chunk-size N] [--source-tar FILE.tar] BLOB
//
// Prints one JSON object {"result":"OK"|"FAIL","error":...,"entries":N,"files":N,"chunks":N,...};
// exit status 1 on FAIL, 2 on a usage error.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

type result struct {
	Result           string `json:"result"`
	Error            string `json:"error,omitempty"`
	Entries          int    `json:"entries"`
	Files            int    `json:"files"`
	Chunks           int    `json:"chunks"`
	Members          int    `json:"members"`
	Frames           int    `json:"frames"`
	DiffID           string `json:"diffId,omitempty"`
	TOCDigest        string `json:"tocDigest,omitempty"`
	ManifestChecksum string `json:"manifestChecksum,omitempty"`
	ManifestPosition string `json:"manifestPosition,omitempty"`
	TarSplitPosition string `json:"tarSplitPosition,omitempty"`
	TarSplitDigest   string `json:"tarSplitDigest,omitempty"`
}

type options struct {
	tocDigest, manifestChecksum, annotations   string
	manifestPosition, tarSplitPosition, source string
	chunkSize                                  int64
}

func main() {
	var o options
	flag.StringVar(&o.tocDigest, "toc-digest", "", "sha256 of the uncompressed TOC JSON (containerd.io/snapshot/stargz/toc.digest)")
	flag.StringVar(&o.manifestChecksum, "manifest-checksum", "", "sha256 of the compressed TOC (…zstd-chunked.manifest-checksum)")
	flag.StringVar(&o.annotations, "annotations", "", "stargz (needs --toc-digest) or containers (needs --manifest-checksum)")
	flag.StringVar(&o.manifestPosition, "manifest-position", "", "expected offset:length:uncompressedLength:1 of the TOC")
	flag.StringVar(&o.tarSplitPosition, "tarsplit-position", "", "expected offset:length:uncompressedLength of the tar-split")
	flag.Int64Var(&o.chunkSize, "chunk-size", 0, "expected fixed chunk size (default: inferred from the blob)")
	flag.StringVar(&o.source, "source-tar", "", "the uncompressed source tar the blob must decompress to")
	flag.Parse()
	res := &result{}
	err := usage(o)
	if err == nil {
		err = check(flag.Arg(0), o, res)
	}
	res.Result = "OK"
	if err != nil {
		res.Result, res.Error = "FAIL", err.Error()
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(res)
	switch {
	case err != nil && flag.NArg() != 1:
		os.Exit(2)
	case err != nil:
		os.Exit(1)
	}
}

func usage(o options) error {
	switch {
	case flag.NArg() != 1:
		return fmt.Errorf("usage: zstdchunked-check [--toc-digest D] [--manifest-checksum D] [--annotations stargz|containers] [--manifest-position P] [--tarsplit-position P] [--chunk-size N] [--source-tar FILE.tar] BLOB")
	case o.annotations == "stargz" && o.tocDigest == "":
		return fmt.Errorf("--annotations stargz: the layer carries containerd.io/snapshot/stargz/toc.digest, pass it as --toc-digest")
	case o.annotations == "containers" && o.manifestChecksum == "":
		return fmt.Errorf("--annotations containers: the layer carries io.github.containers.zstd-chunked.manifest-checksum, pass it as --manifest-checksum")
	case o.annotations != "" && o.annotations != "stargz" && o.annotations != "containers":
		return fmt.Errorf("--annotations must be stargz or containers, not %q", o.annotations)
	}
	return nil
}

func check(path string, o options, res *result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := mapBlob(f, st.Size())
	if err != nil {
		return fmt.Errorf("frames: %w", err)
	}
	res.Frames = len(m.data)
	ft, err := readFooter(f, m)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	toc, err := readTOC(f, m, ft, o, res)
	if err != nil {
		return err
	}
	lines, splitRaw, err := readTarSplit(f, m, toc, o, res)
	if err != nil {
		return err
	}
	if err := diffID(f, m, res); err != nil {
		return err
	}
	w := &walker{m: m, toc: toc, split: lines, chunkSize: o.chunkSize, isChunk: map[int]bool{}, res: res}
	if err := w.walk(f); err != nil {
		return err
	}
	if doc := tocDocument(w.canonical, toc.tarSplitDigest); doc != string(toc.raw) {
		return fmt.Errorf("TOC JSON is not the canonical document of docs/format.md#toc-json-encoding (entries are): %s", firstDiff(string(toc.raw), doc))
	}
	if err := rebuild(f, m, toc, splitRaw, w.headers, o.source); err != nil {
		return err
	}
	return checkStargz(f, m.size, o.tocDigest)
}

func digestOf(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

func readTOC(f *os.File, m *blobMap, ft footer, o options, res *result) (*tocDoc, error) {
	fr := m.meta[0]
	comp, err := readAt(f, fr.cStart, fr.cEnd-fr.cStart)
	if err != nil {
		return nil, err
	}
	res.ManifestChecksum = digestOf(comp)
	res.ManifestPosition = fmt.Sprintf("%d:%d:%d:1", fr.cStart, len(comp), ft.tocUncompressed)
	if o.manifestChecksum != "" && o.manifestChecksum != res.ManifestChecksum {
		return nil, fmt.Errorf("TOC: --manifest-checksum %s, the compressed TOC's sha256 is %s", o.manifestChecksum, res.ManifestChecksum)
	}
	if o.manifestPosition != "" && o.manifestPosition != res.ManifestPosition {
		return nil, fmt.Errorf("TOC: --manifest-position %s, the blob has %s", o.manifestPosition, res.ManifestPosition)
	}
	raw, err := decompress(comp, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("TOC: decompress: %w", err)
	}
	if uint64(len(raw)) != ft.tocUncompressed {
		return nil, fmt.Errorf("TOC: footer says %d uncompressed bytes, the TOC has %d", ft.tocUncompressed, len(raw))
	}
	res.TOCDigest = digestOf(raw)
	if o.tocDigest != "" && o.tocDigest != res.TOCDigest {
		return nil, fmt.Errorf("TOC: --toc-digest %s, the uncompressed TOC's sha256 is %s", o.tocDigest, res.TOCDigest)
	}
	toc, err := parseTOC(raw)
	if err != nil {
		return nil, err
	}
	res.Entries = len(toc.entries)
	return toc, nil
}

func readTarSplit(f *os.File, m *blobMap, toc *tocDoc, o options, res *result) ([]*splitLine, []byte, error) {
	fr := m.meta[1]
	comp, err := readAt(f, fr.cStart, fr.cEnd-fr.cStart)
	if err != nil {
		return nil, nil, err
	}
	res.TarSplitDigest = digestOf(comp)
	if res.TarSplitDigest != toc.tarSplitDigest {
		return nil, nil, fmt.Errorf("tar-split: the TOC's tarSplitDigest is %s, the skippable frame after the TOC has sha256 %s", toc.tarSplitDigest, res.TarSplitDigest)
	}
	raw, err := decompress(comp, maxMetadata)
	if err != nil {
		return nil, nil, fmt.Errorf("tar-split: decompress: %w", err)
	}
	res.TarSplitPosition = fmt.Sprintf("%d:%d:%d", fr.cStart, len(comp), len(raw))
	if o.tarSplitPosition != "" && o.tarSplitPosition != res.TarSplitPosition {
		return nil, nil, fmt.Errorf("tar-split: --tarsplit-position %s, the blob has %s", o.tarSplitPosition, res.TarSplitPosition)
	}
	return parseTarSplit(raw)
}

// diffID hashes the blob's whole decompression, as any zstd reader sees it.
func diffID(f *os.File, m *blobMap, res *result) error {
	dec, err := zstd.NewReader(io.NewSectionReader(f, 0, m.size), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	h := sha256.New()
	if _, err := io.Copy(h, dec); err != nil {
		return fmt.Errorf("decompressing the blob: %w", err)
	}
	res.DiffID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return nil
}
