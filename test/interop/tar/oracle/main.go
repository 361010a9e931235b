// Test oracle: reads a tar on stdin with vbatts/tar-split's archive/tar (RawAccounting on, as
// containers/storage reads layers) and prints one JSON object per line: each header as that reader sees
// it with the raw bytes it consumed before the payload, then the end (raw end-of-archive bytes and the
// size of what follows), or the error. Built offline from Debian's golang-github-vbatts-tar-split-dev.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/vbatts/tar-split/archive/tar"
)

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func timeStr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10) + "." + strconv.Itoa(t.Nanosecond()) + " " + t.UTC().Format(time.RFC3339Nano)
}

func main() {
	out := json.NewEncoder(os.Stdout)
	in := &countingReader{r: bufio.NewReaderSize(os.Stdin, 1<<20)}
	tr := tar.NewReader(in)
	tr.RawAccounting = true
	for {
		start := in.n
		hdr, err := tr.Next()
		if err == io.EOF {
			raw := tr.RawBytes()
			rest, _ := io.Copy(io.Discard, in)
			out.Encode(map[string]interface{}{"end": true, "raw": base64.StdEncoding.EncodeToString(raw), "rest": rest, "start": start})
			return
		}
		if err != nil {
			out.Encode(map[string]interface{}{"error": err.Error(), "at": in.n})
			return
		}
		raw := tr.RawBytes()
		var pax [][2]string
		for k, v := range hdr.PAXRecords {
			pax = append(pax, [2]string{b64(k), b64(v)})
		}
		sort.Slice(pax, func(i, j int) bool { return pax[i][0] < pax[j][0] })
		h := sha256.New()
		n, perr := io.Copy(h, tr)
		rec := map[string]interface{}{
			"raw": base64.StdEncoding.EncodeToString(raw), "start": start,
			"name": b64(hdr.Name), "linkname": b64(hdr.Linkname), "typeflag": string([]byte{hdr.Typeflag}),
			"mode": strconv.FormatInt(hdr.Mode, 10), "uid": strconv.Itoa(hdr.Uid), "gid": strconv.Itoa(hdr.Gid),
			"size": strconv.FormatInt(hdr.Size, 10), "uname": b64(hdr.Uname), "gname": b64(hdr.Gname),
			"devmajor": strconv.FormatInt(hdr.Devmajor, 10), "devminor": strconv.FormatInt(hdr.Devminor, 10),
			"mtime": timeStr(hdr.ModTime), "atime": timeStr(hdr.AccessTime), "ctime": timeStr(hdr.ChangeTime),
			"pax": pax, "payload": n, "sha256": hex.EncodeToString(h.Sum(nil)),
		}
		if perr != nil {
			rec["payloadError"] = perr.Error()
		}
		out.Encode(rec)
		if perr != nil {
			return
		}
	}
}
