#!/usr/bin/env python3
"""Write a small, deterministic OCI image layout for exercising the client harness.

Usage:
  make_test_layout.py OUT_DIR [--tag TAG] [--repo-tag NAME:TAG] [--containerd-name REF]
                      [--no-docker-manifest]
                      [--uncompressed] [--host-binary PATH]... [--cmd ARG]...
                      [--expected-listing FILE] [--corrupt MODE]

Produces OUT_DIR/{oci-layout,index.json,blobs/sha256/*} plus, unless --no-docker-manifest,
a Docker manifest.json pointing into blobs/ (the "hybrid" layout of docs/image-format.md: docker load reads manifest.json).
Two layers:
  layer 1: etc/ etc/hello.txt data/(0750 1000:1000) data/secret(0600 1000:1000)
           data/run.sh(0755) link -> etc/hello.txt, abs-link -> /etc/hello.txt,
           removed.txt, sticky/ (1777), and every --host-binary with its ldd libraries
  layer 2: .wh.removed.txt (whiteout) and etc/layer2.txt (2000:3000, 0640)
All JSON is canonical (sorted keys, compact, no trailing newline); mtimes = SOURCE_DATE_EPOCH
(default 1700000000). --expected-listing writes the tree listing (format of
tests/tools/tree_listing.py) that unpacking the image must produce.

--corrupt MODE (for negative tests) damages the written layout:
  layer-content    flip one byte of the first layer blob (file name no longer = digest)
  config-content   flip one byte of the config blob
  manifest-digest  point index.json at a digest that has no blob
  uppercase-digest write the manifest descriptor digest in uppercase hex (schema accepts it)
  layer-size       manifest says the first layer is one byte longer than the blob
  diff-ids         drop the last rootfs.diff_ids entry (count != layers)
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

EPOCH_DEFAULT = 1700000000


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Layer:
    def __init__(self, mtime):
        self.mtime = mtime
        self.entries = []  # (TarInfo, data or None)

    def add(self, name, kind, mode, uid=0, gid=0, data=b"", target=""):
        ti = tarfile.TarInfo(name + ("/" if kind == "d" else ""))
        ti.mtime = self.mtime
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        if kind == "d":
            ti.type = tarfile.DIRTYPE
            self.entries.append((ti, None))
        elif kind == "l":
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            self.entries.append((ti, None))
        else:
            ti.type = tarfile.REGTYPE
            ti.size = len(data)
            self.entries.append((ti, data))

    def tar_bytes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for ti, data in self.entries:
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def ldd_deps(path):
    """Absolute paths of the shared libraries `path` needs (incl. the dynamic loader)."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return []
    deps = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            deps.append(m.group(1))
    return deps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--tag", default="test")
    ap.add_argument("--repo-tag", default=None, help="RepoTags entry of manifest.json (default localhost/strata-selftest:TAG)")
    ap.add_argument("--containerd-name", default=None,
                    help='io.containerd.image.name annotation in index.json (default: the repo tag; "" = omit)')
    ap.add_argument("--no-docker-manifest", action="store_true")
    ap.add_argument("--uncompressed", action="store_true", help="write layers as plain tar (media type ...layer.v1.tar)")
    ap.add_argument("--host-binary", action="append", default=[], help="copy this host binary (and its ldd libraries) into layer 1")
    ap.add_argument("--cmd", action="append", default=None, help="config Cmd (repeat for each argument)")
    ap.add_argument("--expected-listing", default=None)
    ap.add_argument("--corrupt", default=None, choices=["layer-content", "config-content", "manifest-digest",
                                                          "uppercase-digest", "layer-size", "diff-ids"])
    a = ap.parse_args()

    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", EPOCH_DEFAULT))
    created = __import__("datetime").datetime.utcfromtimestamp(mtime).strftime("%Y-%m-%dT%H:%M:%SZ")

    # expected final tree: path -> (type, mode, uid, gid, data|None, target|None)
    tree = {}

    def put(layer, name, kind, mode, uid=0, gid=0, data=b"", target=""):
        layer.add(name, kind, mode, uid, gid, data, target)
        tree[name] = (kind, mode, uid, gid, data if kind == "f" else None, target if kind == "l" else None)

    l1 = Layer(mtime)
    put(l1, "abs-link", "l", 0o777, target="/etc/hello.txt")
    put(l1, "data", "d", 0o750, 1000, 1000)
    put(l1, "data/run.sh", "f", 0o755, 1000, 1000, b"#!/bin/sh\necho run\n")
    put(l1, "data/secret", "f", 0o600, 1000, 1000, b"top secret\n")
    put(l1, "etc", "d", 0o755)
    put(l1, "etc/hello.txt", "f", 0o644, data=b"hello strata\n")
    put(l1, "link", "l", 0o777, target="etc/hello.txt")
    put(l1, "removed.txt", "f", 0o644, data=b"deleted by layer 2\n")
    put(l1, "sticky", "d", 0o1777)

    files = {}
    for b in a.host_binary:
        for p in [b] + ldd_deps(b):
            files[os.path.normpath(p).lstrip("/")] = os.path.realpath(p)
    made_dirs = {n for n, v in tree.items() if v[0] == "d"}
    for rel in sorted(files):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made_dirs:
                put(l1, d, "d", 0o755)
                made_dirs.add(d)
        with open(files[rel], "rb") as fh:
            put(l1, rel, "f", 0o755, data=fh.read())
    # tar order: parents before children, sorted
    l1.entries.sort(key=lambda e: e[0].name.rstrip("/").encode())

    l2 = Layer(mtime)
    l2.add(".wh.removed.txt", "f", 0o644)
    del tree["removed.txt"]
    put(l2, "etc/layer2.txt", "f", 0o640, 2000, 3000, b"from layer 2\n")

    blobs = {}

    def add_blob(b):
        d = sha(b)
        blobs[d] = b
        return d

    layer_descs, diff_ids = [], []
    for layer in (l1, l2):
        raw = layer.tar_bytes()
        diff_ids.append("sha256:" + sha(raw))
        if a.uncompressed:
            blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
        else:
            bio = io.BytesIO()
            with gzip.GzipFile(fileobj=bio, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
                gz.write(raw)
            blob, mt = bio.getvalue(), "application/vnd.oci.image.layer.v1.tar+gzip"
        layer_descs.append({"mediaType": mt, "digest": "sha256:" + add_blob(blob), "size": len(blob)})

    cfg_obj = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "WorkingDir": "/",
            "Labels": {"org.example.selftest": "1"},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": created, "created_by": "make_test_layout.py layer 1"},
            {"created": created, "created_by": "make_test_layout.py layer 2"},
        ],
    }
    if a.cmd:
        cfg_obj["config"]["Cmd"] = a.cmd
    if a.corrupt == "diff-ids":
        cfg_obj["rootfs"]["diff_ids"] = diff_ids[:-1]
    cfg = canon(cfg_obj)
    cfg_d = add_blob(cfg)

    man = canon({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cfg_d, "size": len(cfg)},
        "layers": layer_descs if a.corrupt != "layer-size" else
        [dict(layer_descs[0], size=layer_descs[0]["size"] + 1)] + layer_descs[1:],
        "annotations": {"org.opencontainers.image.created": created},
    })
    man_d = add_blob(man)
    repo_tag = a.repo_tag or f"localhost/strata-selftest:{a.tag}"
    man_digest = "sha256:" + man_d
    cname = repo_tag if a.containerd_name is None else a.containerd_name
    if a.corrupt == "manifest-digest":
        man_digest = "sha256:" + "0" * 64
    elif a.corrupt == "uppercase-digest":
        man_digest = "sha256:" + man_d.upper()
    index = canon({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": man_digest,
            "size": len(man),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": dict({"org.opencontainers.image.ref.name": a.tag},
                                **({"io.containerd.image.name": cname} if cname else {})),
        }],
    })

    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    for d, b in blobs.items():
        if a.corrupt == "layer-content" and "sha256:" + d == layer_descs[0]["digest"] or \
                a.corrupt == "config-content" and d == cfg_d:
            b = bytearray(b)
            b[len(b) // 2] ^= 0xFF
            b = bytes(b)
        with open(os.path.join(a.out, "blobs", "sha256", d), "wb") as fh:
            fh.write(b)
    with open(os.path.join(a.out, "oci-layout"), "wb") as fh:
        fh.write(canon({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(a.out, "index.json"), "wb") as fh:
        fh.write(index)
    if not a.no_docker_manifest:
        with open(os.path.join(a.out, "manifest.json"), "wb") as fh:
            fh.write(canon([{"Config": "blobs/sha256/" + cfg_d, "RepoTags": [repo_tag],
                             "Layers": ["blobs/sha256/" + x["digest"][7:] for x in layer_descs]}]))

    if a.expected_listing:
        lines = []
        for name, (kind, mode, uid, gid, data, target) in tree.items():
            lines.append("\t".join([
                name, kind, "%04o" % mode, str(uid), str(gid),
                str(len(data)) if kind == "f" else "-",
                sha(data) if kind == "f" else "-",
                target if kind == "l" else "-",
            ]))
        lines.sort(key=lambda s: s.split("\t", 1)[0].encode())
        with open(a.expected_listing, "w") as fh:
            fh.write("".join(line + "\n" for line in lines))

    print(man_digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
