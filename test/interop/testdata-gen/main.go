// zstdchunked-testgen: a throwaway test aid (not product code) that proves zstdchunked-check works
// before tsconvert's writer is finished. From an uncompressed tar it writes a blob laid out as docs
// docs/format.md says, encoded independently of the checker (encoding/json structs for the TOC and tar-split,
// klauspost's zstd), plus variants with one deliberate defect each. Every variant's digests and
// positions are recomputed, so its only problem is the one it is named after.
//
// Usage: zstdchunked-testgen [--chunk-size N] --out DIR SOURCE.tar
// Writes DIR/<variant>.zst for every variant the tar allows and prints a JSON array with, per variant, its name, blob
// path, tocDigest, manifestChecksum, manifestPosition and tarSplitPosition.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/storage"
)

// variants, each with one defect (see build for where it is injected).
var variants = []string{
	"good",
	"bad-chunk-digest",     // a chunk entry's chunkDigest is the sha256 of other bytes
	"toc-mode-differs",     // a reg entry's mode differs from its tar header
	"toc-modtime-rounded",  // stargz-style: modtime rounded to whole seconds
	"toc-name-normalized",  // a name without its "./" prefix, as stargz's reader cleans it
	"bad-tarsplit-crc",     // a tar-split file line's CRC-64 does not match the content
	"html-escaped-name",    // the TOC encoded with Go's default HTML escaping (\u003c for <)
	"missing-eoa",          // no end-of-archive blocks (what stargz writes), consistently in data and tar-split
	"bad-tarsplit-digest",  // the TOC's tarSplitDigest is not the tar-split frame's sha256
	"padding-in-payload",   // a file's padding and the next header sit in its last payload frame (stargz layout)
	"toc-missing-atime",    // accesstime left out although the header carries one
	"chunk-offset-shifted", // a chunk entry's offset points one byte past its frame start
}

type member struct {
	h       *tar.Header
	raw     []byte // previous padding + this member's header blocks
	content []byte
}

type source struct {
	members []member
	trailer []byte // last padding + end-of-archive blocks
	rest    []byte // bytes after the end-of-archive blocks
}

func readSource(b []byte) (*source, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	tr.RawAccounting = true
	s := &source{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			s.trailer = append([]byte(nil), tr.RawBytes()...)
			break
		}
		if err != nil {
			return nil, err
		}
		raw := append([]byte(nil), tr.RawBytes()...)
		content, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		s.members = append(s.members, member{h, raw, content})
	}
	used := 0
	for _, m := range s.members {
		used += len(m.raw) + len(m.content)
	}
	used += len(s.trailer)
	s.rest = b[used:]
	return s, nil
}

type tocEntry struct {
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	LinkName    string            `json:"linkName,omitempty"`
	Mode        int64             `json:"mode,omitempty"`
	Size        int64             `json:"size,omitempty"`
	UID         int               `json:"uid,omitempty"`
	GID         int               `json:"gid,omitempty"`
	UserName    string            `json:"userName,omitempty"`
	GroupName   string            `json:"groupName,omitempty"`
	ModTime     string            `json:"modtime,omitempty"`
	AccessTime  string            `json:"accesstime,omitempty"`
	ChangeTime  string            `json:"changetime,omitempty"`
	DevMajor    int64             `json:"devMajor,omitempty"`
	DevMinor    int64             `json:"devMinor,omitempty"`
	Xattrs      map[string]string `json:"xattrs,omitempty"`
	Digest      string            `json:"digest,omitempty"`
	Offset      int64             `json:"offset,omitempty"`
	EndOffset   int64             `json:"endOffset,omitempty"`
	ChunkSize   int64             `json:"chunkSize,omitempty"`
	ChunkOffset int64             `json:"chunkOffset,omitempty"`
	ChunkDigest string            `json:"chunkDigest,omitempty"`
}

type toc struct {
	Version        int        `json:"version"`
	Entries        []tocEntry `json:"entries"`
	TarSplitDigest string     `json:"tarSplitDigest"`
}

type splitEntry struct {
	Type     int    `json:"type"`
	Name     string `json:"name,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Payload  []byte `json:"payload"`
	Position int    `json:"position"`
}

var types = map[byte]string{tar.TypeReg: "reg", tar.TypeLink: "hardlink", tar.TypeSymlink: "symlink",
	tar.TypeChar: "char", tar.TypeBlock: "block", tar.TypeDir: "dir", tar.TypeFifo: "fifo"}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func shaHex(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }

func metadata(h *tar.Header) tocEntry {
	e := tocEntry{Type: types[h.Typeflag], Name: h.Name, LinkName: h.Linkname, Mode: h.Mode, Size: h.Size,
		UID: h.Uid, GID: h.Gid, UserName: h.Uname, GroupName: h.Gname, ModTime: stamp(h.ModTime),
		AccessTime: stamp(h.AccessTime), ChangeTime: stamp(h.ChangeTime), DevMajor: h.Devmajor, DevMinor: h.Devminor}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[strings.TrimPrefix(k, "SCHILY.xattr.")] = base64.StdEncoding.EncodeToString([]byte(v))
		}
	}
	return e
}

func encodeJSON(v interface{}, html bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type out struct {
	Name             string `json:"name"`
	Blob             string `json:"blob"`
	TOCDigest        string `json:"tocDigest"`
	ManifestChecksum string `json:"manifestChecksum"`
	ManifestPosition string `json:"manifestPosition"`
	TarSplitPosition string `json:"tarSplitPosition"`
}

func main() {
	chunkSize := flag.Int("chunk-size", 4<<20, "fixed chunk size")
	dir := flag.String("out", "", "output directory")
	flag.Parse()
	if *dir == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: zstdchunked-testgen [--chunk-size N] --out DIR SOURCE.tar")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *dir, *chunkSize); err != nil {
		fmt.Fprintln(os.Stderr, "zstdchunked-testgen:", err)
		os.Exit(1)
	}
}

func run(src, dir string, chunkSize int) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	s, err := readSource(b)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	var all []out
	for _, v := range variants {
		blob, o, err := build(s, v, chunkSize, enc)
		if errors.Is(err, errNotApplicable) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
		o.Name, o.Blob = v, filepath.Join(dir, v+".zst")
		if err := os.WriteFile(o.Blob, blob, 0o644); err != nil {
			return err
		}
		all = append(all, o)
	}
	return json.NewEncoder(os.Stdout).Encode(all)
}

// skippable appends a skippable frame and returns its payload offset.
func skippable(blob *bytes.Buffer, payload []byte) int64 {
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], 0x184D2A50)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(payload)))
	blob.Write(h[:])
	off := int64(blob.Len())
	blob.Write(payload)
	return off
}

func crc(b []byte) []byte {
	h := crc64.New(storage.CRCTable)
	h.Write(b)
	return h.Sum(nil)
}
