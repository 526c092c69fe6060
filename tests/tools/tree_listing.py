#!/usr/bin/env python3
"""Print a canonical, sorted listing of a directory tree (e.g. an unpacked image rootfs).

Usage: tree_listing.py [--no-owner] [--exclude GLOB]... ROOT

One line per entry below ROOT (ROOT itself is not listed: the OCI spec leaves the attributes of
the initial root directory unspecified), tab-separated, sorted by path bytes:

    PATH  TYPE  MODE  UID  GID  SIZE  SHA256  TARGET

PATH    relative, no leading "./" or "/", e.g. "etc/hello.txt"
TYPE    f regular, d directory, l symlink, c char dev, b block dev, p fifo, s socket
MODE    permission bits incl. setuid/setgid/sticky, 4 octal digits (symlinks: 0777)
UID/GID numeric; "-" with --no-owner (rootless unpacks map every owner to the caller)
SIZE    bytes for regular files, else "-"
SHA256  lowercase hex of a regular file's content, else "-"
TARGET  symlink target as stored (not resolved), else "-"; devices: "MAJOR,MINOR"

mtimes, inode numbers, link counts and xattrs are not listed. Non-printable bytes in names are
written as \\xNN so that every entry stays on one line.
"""
import argparse
import fnmatch
import hashlib
import os
import stat
import sys

TYPES = [(stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"), (stat.S_ISCHR, "c"),
         (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"), (stat.S_ISSOCK, "s")]


def esc(b: bytes) -> str:
    out = []
    for c in b:
        if c < 0x20 or c >= 0x7F or c == 0x5C:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--no-owner", action="store_true")
    ap.add_argument("--exclude", action="append", default=[], help="glob on the relative path (repeatable)")
    a = ap.parse_args()
    root = os.fsencode(a.root)
    if not os.path.isdir(root):
        print(f"tree_listing.py: not a directory: {a.root}", file=sys.stderr)
        return 1
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            rel_s = esc(rel)
            if any(fnmatch.fnmatchcase(rel_s, g) for g in a.exclude):
                continue
            st = os.lstat(full)
            kind = next((t for test, t in TYPES if test(st.st_mode)), "?")
            size = digest = target = "-"
            if kind == "f":
                size = str(st.st_size)
                h = hashlib.sha256()
                with open(full, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                digest = h.hexdigest()
            elif kind == "l":
                target = esc(os.readlink(full))
            elif kind in "cb":
                target = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
            uid, gid = ("-", "-") if a.no_owner else (str(st.st_uid), str(st.st_gid))
            rows.append((rel, "\t".join([rel_s, kind, "%04o" % stat.S_IMODE(st.st_mode), uid, gid,
                                         size, digest, target])))
    rows.sort(key=lambda r: r[0])
    out = sys.stdout
    for _, line in rows:
        out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
