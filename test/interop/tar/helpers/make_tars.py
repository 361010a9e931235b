# Writes tars with Python's tarfile for the tar scanner tests. Usage: python3 make_tars.py SRC_DIR OUT_DIR
# Produces py-gnu.tar, py-pax.tar, py-ustar.tar (the source tree in each format), py-v7.tar (v7 headers:
# no magic, "\0" type flags, directories as names ending in "/") and py-special.tar (hand-picked values:
# xattrs with NUL bytes and empty values, base-256 uid/gid, atime/ctime, negative and sub-second times,
# two x headers in a row, a GNU long name overriding a PAX path).
import io
import os
import sys
import tarfile

src, out = sys.argv[1], sys.argv[2]
enc = dict(encoding="utf-8", errors="surrogateescape")


def add_tree(tf):
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(root, name)
            arc = os.path.relpath(path, src)
            try:
                tf.add(path, arcname=arc, recursive=False)
            except ValueError:
                pass  # a name the format cannot hold (ustar): skipped


for fmt, fname in [(tarfile.GNU_FORMAT, "py-gnu.tar"), (tarfile.PAX_FORMAT, "py-pax.tar"),
                   (tarfile.USTAR_FORMAT, "py-ustar.tar")]:
    with tarfile.open(os.path.join(out, fname), "w", format=fmt, **enc) as tf:
        add_tree(tf)


def v7_block(name, typ, size, mode=0o644, link=b""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.mtime, ti.linkname = typ, size, mode, 1700000000, link.decode()
    buf = bytearray(ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"))
    buf[156:157] = typ
    buf[257:512] = bytes(255)  # no magic, version, names, devices or prefix: a v7 header
    buf[148:156] = b"        "
    buf[148:155] = ("%06o\0" % sum(buf)).encode()
    return bytes(buf)


with open(os.path.join(out, "py-v7.tar"), "wb") as f:
    f.write(v7_block("v7dir/", b"\0", 0, 0o755))
    f.write(v7_block("v7dir/file.txt", b"\0", 5) + b"hello" + bytes(507))
    f.write(v7_block("v7dir/hard", b"1", 0, link=b"v7dir/file.txt"))
    f.write(v7_block("v7dir/sym", b"2", 0, link=b"file.txt"))
    f.write(bytes(1024 + 512 * 18))  # end-of-archive blocks and record padding

with tarfile.open(os.path.join(out, "py-special.tar"), "w", format=tarfile.PAX_FORMAT, **enc) as tf:
    ti = tarfile.TarInfo("xattrs.txt")
    ti.size = 3
    ti.mtime = 1700000000.123456789
    ti.pax_headers = {"SCHILY.xattr.user.x": "a\0b", "SCHILY.xattr.user.empty": "",
                      "SCHILY.xattr.security.capability": "\x01\x00\x00\x02", "atime": "1700000001.5",
                      "ctime": "-1.25", "mtime": "1700000000.1234567891"}
    tf.addfile(ti, io.BytesIO(b"abc"))
    ti = tarfile.TarInfo("neg-time")
    ti.mtime = -1
    tf.addfile(ti)
    ti = tarfile.TarInfo("bigids")
    ti.uid, ti.gid, ti.uname, ti.gname = 2**40, 2**33 + 5, "üser", "grüp"
    tf.addfile(ti)
    ti = tarfile.TarInfo("nonutf8-\udcff\udcfe")
    tf.addfile(ti)

with tarfile.open(os.path.join(out, "py-gnu-special.tar"), "w", format=tarfile.GNU_FORMAT, **enc) as tf:
    ti = tarfile.TarInfo("gnu-bigids")
    ti.uid, ti.gid = 2**40, 2**35
    ti.mtime = 2**36
    tf.addfile(ti)
    ti = tarfile.TarInfo("neg-mtime")
    ti.mtime = -86400 * 365
    tf.addfile(ti)
    ti = tarfile.TarInfo("L" * 300)
    ti.type, ti.linkname = tarfile.SYMTYPE, "K" * 300
    tf.addfile(ti)
