// The TOC side of the check: parse the TOC JSON strictly (docs/format.md#toc), derive the entry every
// tar member must have from the header that vbatts/tar-split's archive/tar fork reads (the parser
// containers/storage uses for its TOC-versus-tar-split check, docs/format.md#toc-metadata-fields), and
// compare the two: first field by field (naming entry, field and both values), then byte for byte against the canonical JSON.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vbatts/tar-split/archive/tar"
)

type tocDoc struct {
	raw            []byte
	entries        []json.RawMessage
	fields         []map[string]json.RawMessage
	tarSplitDigest string
}

func parseTOC(raw []byte) (*tocDoc, error) {
	var top struct {
		Version        *int              `json:"version"`
		Entries        []json.RawMessage `json:"entries"`
		TarSplitDigest string            `json:"tarSplitDigest"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("TOC JSON: %w", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(raw)) {
		return nil, fmt.Errorf("TOC JSON: trailing data after the object at byte %d", dec.InputOffset())
	}
	if top.Version == nil || *top.Version != 1 {
		return nil, fmt.Errorf("TOC JSON: version must be 1")
	}
	if !strings.HasPrefix(top.TarSplitDigest, "sha256:") {
		return nil, fmt.Errorf("TOC JSON: tarSplitDigest %q is not a sha256 digest", top.TarSplitDigest)
	}
	d := &tocDoc{raw: raw, entries: top.Entries, tarSplitDigest: top.TarSplitDigest}
	for i, e := range top.Entries {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil {
			return nil, fmt.Errorf("TOC entry %d: %w", i, err)
		}
		for k := range m {
			if _, ok := tocKeyIndex[k]; !ok {
				return nil, fmt.Errorf("TOC entry %d: unknown key %q (docs/format.md#toc-json-encoding lists the keys)", i, k)
			}
		}
		d.fields = append(d.fields, m)
	}
	return d, nil
}

// entryType maps the fork's Typeflag (it already turns '\x00' into '0' or '5') to the TOC type.
func entryType(h *tar.Header) (string, error) {
	switch h.Typeflag {
	case tar.TypeReg:
		return "reg", nil
	case tar.TypeLink:
		return "hardlink", nil
	case tar.TypeSymlink:
		return "symlink", nil
	case tar.TypeChar:
		return "char", nil
	case tar.TypeBlock:
		return "block", nil
	case tar.TypeDir:
		return "dir", nil
	case tar.TypeFifo:
		return "fifo", nil
	}
	return "", fmt.Errorf("type flag %q cannot be carried by zstd:chunked (docs/format.md#fallback-to-plain-zstd)", h.Typeflag)
}

// rfc3339 is Go's time JSON form in UTC: RFC 3339, fraction truncated to ns and trailing zeros dropped.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// headerEntry builds the metadata part of a member's expected TOC entry (docs/format.md#toc-metadata-fields).
func headerEntry(h *tar.Header) (*entryBuilder, string, error) {
	typ, err := entryType(h)
	if err != nil {
		return nil, "", err
	}
	e := &entryBuilder{}
	e.str("type", typ, true)
	e.str("name", h.Name, true)
	e.str("linkName", h.Linkname, false)
	e.num("mode", h.Mode)
	e.num("size", h.Size)
	e.num("uid", int64(h.Uid))
	e.num("gid", int64(h.Gid))
	if utf8.ValidString(h.Uname) {
		e.str("userName", h.Uname, false)
	}
	if utf8.ValidString(h.Gname) {
		e.str("groupName", h.Gname, false)
	}
	for _, t := range []struct {
		key string
		v   time.Time
	}{{"modtime", h.ModTime}, {"accesstime", h.AccessTime}, {"changetime", h.ChangeTime}} {
		if t.v.IsZero() {
			continue
		}
		if y := t.v.UTC().Year(); y < 0 || y > 9999 {
			return nil, "", fmt.Errorf("%s year %d is outside 0000-9999 (docs/format.md#fallback-to-plain-zstd)", t.key, y)
		}
		e.str(t.key, rfc3339(t.v), true)
	}
	e.num("devMajor", h.Devmajor)
	e.num("devMinor", h.Devminor)
	x := map[string][]byte{}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			x[strings.TrimPrefix(k, "SCHILY.xattr.")] = []byte(v)
		}
	}
	e.xattrs(x)
	return e, typ, e.err
}

// compareEntry compares TOC entry idx with the expected fields: every key in canonical order, then the
// raw bytes. desc names the member for the message.
func compareEntry(d *tocDoc, idx int, want *entryBuilder, desc string) error {
	if idx >= len(d.entries) {
		return fmt.Errorf("TOC has %d entries, %s has none", len(d.entries), desc)
	}
	got := d.fields[idx]
	wantJSON := want.json()
	wantMap := map[string]string{}
	for _, f := range want.fields {
		wantMap[f.key] = f.json
	}
	name := strings.TrimSpace(string(got["name"]))
	for _, k := range tocKeys {
		g, gok := got[k]
		w, wok := wantMap[k]
		gs, ws := "(absent)", "(absent)"
		if gok {
			gs = normalize(g)
		}
		if wok {
			ws = w
		}
		if gs != ws {
			return fmt.Errorf("TOC entry %d (name %s) vs %s: field %s: TOC has %s, expected %s", idx, name, desc, k, gs, ws)
		}
	}
	if string(d.entries[idx]) != wantJSON {
		return fmt.Errorf("TOC entry %d (name %s): not the canonical JSON of docs/format.md#toc-json-encoding (key order, escaping, no zero values, compact): %s",
			idx, name, firstDiff(string(d.entries[idx]), wantJSON))
	}
	return nil
}

// normalize re-encodes a TOC value canonically, so that only a difference in meaning counts here.
func normalize(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		if q, err := quote(s); err == nil {
			return q
		}
	}
	var x map[string]string
	if json.Unmarshal(v, &x) == nil && x != nil {
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = mustQuote(k) + ":" + mustQuote(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return string(bytes.TrimSpace(v))
}
