#!/usr/bin/env python3
"""Tar an OCI image layout directory (or any tree) deterministically.

Usage: tar_layout.py DIR OUT.tar

Entry names are relative without a leading "./" (e.g. "index.json", "blobs/sha256/<hex>"),
sorted by byte value, parents before children, uid/gid 0, empty uname/gname, fixed mtime
(SOURCE_DATE_EPOCH, default 0), ustar format (PAX only when ustar cannot hold a field).
Used by the e2e client harness to turn a layout dir into an oci-archive / hybrid docker-archive
when strata did not write out/NAME.tar itself (oci-image-tool and `podman load` need a file).
"""
import os
import stat
import sys
import tarfile


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out = argv[1], argv[2]
    if not os.path.isdir(src):
        print(f"tar_layout.py: not a directory: {src}", file=sys.stderr)
        return 1
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    names = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        for d in dirs:
            names.append(os.path.normpath(os.path.join(rel, d)))
        for f in files:
            names.append(os.path.normpath(os.path.join(rel, f)))
    names.sort(key=lambda n: n.encode())
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tf:
        for name in names:
            path = os.path.join(src, name)
            st = os.lstat(path)
            ti = tarfile.TarInfo(name)
            ti.mtime = mtime
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif stat.S_ISLNK(st.st_mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(path)
                tf.addfile(ti)
            elif stat.S_ISREG(st.st_mode):
                ti.size = st.st_size
                with open(path, "rb") as fh:
                    tf.addfile(ti, fh)
            else:
                print(f"tar_layout.py: unsupported file type: {path}", file=sys.stderr)
                return 1
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
