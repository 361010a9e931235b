#!/usr/bin/env python3
# Test aid for test/helpers/rootfs.ts: lists a directory tree as JSON, one object per entry, so that a root
# file system a client pulled can be compared with the source image's. Python because Node has no xattr API.
# Per entry: path (relative, '/'-joined), type, mode (permission and set-id bits), uid, gid, size and
# sha256 (regular files), target (symlinks), rdev (devices), mtime_ns, xattrs (name -> base64 value) and
# links: the other paths sharing the inode (hard links); an entry readdir lists but lstat cannot find has
# type 'listed-but-missing'. Usage: tree-listing.py DIR
import base64
import hashlib
import json
import os
import stat
import sys


def kind(mode):
    for test, name in ((stat.S_ISREG, 'reg'), (stat.S_ISDIR, 'dir'), (stat.S_ISLNK, 'symlink'),
                       (stat.S_ISCHR, 'char'), (stat.S_ISBLK, 'block'), (stat.S_ISFIFO, 'fifo'),
                       (stat.S_ISSOCK, 'socket')):
        if test(mode):
            return name
    return 'unknown'


def xattrs(path):
    out = {}
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        try:
            out[name] = base64.b64encode(os.getxattr(path, name, follow_symlinks=False)).decode()
        except OSError as e:
            # Listed but unreadable (a FUSE file system can do this): kept, so it shows as a difference.
            out[name] = 'unreadable: ' + (os.strerror(e.errno) if e.errno else str(e))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def main(root):
    entries = []
    inodes = {}
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(parent, name)
            rel = os.path.relpath(full, root)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                # Listed by readdir but gone on lstat (an overlay view can do this): kept, so it shows.
                entries.append({'path': rel, 'type': 'listed-but-missing'})
                continue
            e = {'path': rel, 'type': kind(st.st_mode), 'mode': stat.S_IMODE(st.st_mode),
                 'uid': st.st_uid, 'gid': st.st_gid, 'mtime_ns': st.st_mtime_ns, 'xattrs': xattrs(full)}
            if e['type'] == 'reg':
                e['size'] = st.st_size
                e['sha256'] = sha256(full)
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif e['type'] == 'symlink':
                e['target'] = os.readlink(full)
            elif e['type'] in ('char', 'block'):
                e['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
            entries.append(e)
    for group in inodes.values():
        for e in entries:
            if e['path'] in group and len(group) > 1:
                e['links'] = sorted(p for p in group if p != e['path'])
    json.dump(entries, sys.stdout, sort_keys=True)


main(sys.argv[1])
