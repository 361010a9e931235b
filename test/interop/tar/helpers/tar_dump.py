# Independent reader for the tar scanner tests: dumps every member Python's tarfile sees as one JSON line
# (bytes base64-encoded so non-UTF-8 names survive). Usage: python3 tar_dump.py ARCHIVE
import base64
import json
import sys
import tarfile


def b64(s):
    if isinstance(s, str):
        s = s.encode("utf-8", "surrogateescape")
    return base64.b64encode(s).decode()


with tarfile.open(sys.argv[1], "r:", encoding="utf-8", errors="surrogateescape") as tf:
    for m in tf:
        print(json.dumps({
            "name": b64(m.name), "linkname": b64(m.linkname), "type": m.type.decode("latin1"),
            "mode": m.mode, "uid": m.uid, "gid": m.gid, "size": m.size, "mtime": m.mtime,
            "uname": b64(m.uname), "gname": b64(m.gname), "devmajor": m.devmajor, "devminor": m.devminor,
            "pax": sorted([b64(k), b64(v)] for k, v in m.pax_headers.items()),
            "offset": m.offset, "offset_data": m.offset_data, "sparse": m.sparse is not None,
        }))
