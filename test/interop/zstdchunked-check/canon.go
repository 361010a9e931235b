// The canonical JSON of docs/format.md#toc-json-encoding and #tar-split, written by hand rather than with
// encoding/json (which HTML-escapes, escapes U+2028/2029 and cannot order keys): compact, keys in the documented order, zero
// values omitted except type and name, strings escaped only where JSON requires it. The checker builds
// the entry each member must have and compares it with the TOC, field by field and then byte for byte.
package main

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one key of an expected TOC entry with its value already in canonical JSON.
type field struct{ key, json string }

// tocKeys is the key order of docs/format.md#toc-json-encoding.
var tocKeys = []string{"type", "name", "linkName", "mode", "size", "uid", "gid", "userName", "groupName",
	"modtime", "accesstime", "changetime", "devMajor", "devMinor", "xattrs", "digest", "offset", "endOffset",
	"chunkSize", "chunkOffset", "chunkDigest"}

var tocKeyIndex = func() map[string]int {
	m := map[string]int{}
	for i, k := range tocKeys {
		m[k] = i
	}
	return m
}()

// quote escapes like JavaScript's JSON.stringify (and RFC 8259's minimum): `"`, `\` and control
// characters; everything else, including <, >, & and U+2028/2029, stays as it is.
func quote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid UTF-8 (docs/format.md#fallback-to-plain-zstd: such layers are not zstd:chunked)", s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

func mustQuote(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	q, err := quote(s)
	if err != nil {
		panic(err)
	}
	return q
}

// entryBuilder collects the fields of one expected entry, dropping zero values.
type entryBuilder struct {
	fields []field
	err    error
}

func (e *entryBuilder) str(key, v string, keepEmpty bool) {
	if v == "" && !keepEmpty {
		return
	}
	q, err := quote(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", key, err)
	}
	e.fields = append(e.fields, field{key, q})
}

func (e *entryBuilder) num(key string, v int64) {
	if v != 0 {
		e.fields = append(e.fields, field{key, strconv.FormatInt(v, 10)})
	}
}

func (e *entryBuilder) xattrs(x map[string][]byte) {
	if len(x) == 0 {
		return
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		q, err := quote(k)
		if err != nil && e.err == nil {
			e.err = fmt.Errorf("xattr key: %w", err)
		}
		parts[i] = q + ":" + mustQuote(base64.StdEncoding.EncodeToString(x[k]))
	}
	e.fields = append(e.fields, field{"xattrs", "{" + strings.Join(parts, ",") + "}"})
}

func (e *entryBuilder) json() string {
	sort.SliceStable(e.fields, func(i, j int) bool { return tocKeyIndex[e.fields[i].key] < tocKeyIndex[e.fields[j].key] })
	parts := make([]string, len(e.fields))
	for i, f := range e.fields {
		parts[i] = mustQuote(f.key) + ":" + f.json
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// tocDocument is the whole TOC JSON of docs/format.md#toc for canonical entries.
func tocDocument(entries []string, tarSplitDigest string) string {
	return `{"version":1,"entries":[` + strings.Join(entries, ",") + `],"tarSplitDigest":` + mustQuote(tarSplitDigest) + "}"
}

// tarSplitLine is the canonical form of one tar-split line (docs/format.md#tar-split; key order type, name,
// name_raw, size, payload, position).
func tarSplitLine(l *splitLine) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":%d`, l.Type)
	if l.Name != "" {
		b.WriteString(`,"name":` + mustQuote(l.Name))
	}
	if len(l.NameRaw) > 0 {
		b.WriteString(`,"name_raw":"` + base64.StdEncoding.EncodeToString(l.NameRaw) + `"`)
	}
	if l.Size != 0 {
		fmt.Fprintf(&b, `,"size":%d`, l.Size)
	}
	if l.Payload == nil {
		b.WriteString(`,"payload":null`)
	} else {
		b.WriteString(`,"payload":"` + base64.StdEncoding.EncodeToString(l.Payload) + `"`)
	}
	fmt.Fprintf(&b, `,"position":%d}`, l.Position)
	return b.String()
}

// firstDiff names where two byte strings first differ, with a short excerpt of each.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	ex := func(s string) string {
		a, b := i-20, i+40
		if a < 0 {
			a = 0
		}
		if b > len(s) {
			b = len(s)
		}
		if a > len(s) {
			a = len(s)
		}
		return s[a:b]
	}
	return fmt.Sprintf("first difference at byte %d: got [%s] want [%s]", i, ex(got), ex(want))
}
