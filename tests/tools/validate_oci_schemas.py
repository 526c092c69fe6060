#!/usr/bin/env python3
"""Validate an OCI image layout directory against the official OCI JSON schemas, plus the rules
the schemas do not check.

Usage: validate_oci_schemas.py [--schema-dir DIR] [--no-canonical] [--no-diff-ids] LAYOUT_DIR

Schema directory (first one holding all 7 OCI schema files wins):
  --schema-dir DIR, else $STRATA_SCHEMA_DIR, else the vendored <repo>/tests/schemas (image-spec
  v1.1.1 copies, so every clone validates alike), else Debian's golang-github-opencontainers-image-spec-dev
  (/usr/share/gocode/src/github.com/opencontainers/image-spec/schema, image-spec 1.1.0~rc2).
  None found (only possible with an explicit --schema-dir): prints "SKIP: ..." and exits 77.

Checks (each failure is one "FAIL: <where>: <what>" line):
  * oci-layout   -> image-layout-schema.json, imageLayoutVersion == "1.0.0"
  * index.json   -> image-index-schema.json; nested indexes likewise
  * manifests    -> image-manifest-schema.json; configs -> config-schema.json (format date-time
                    checked with our own RFC 3339 checker)
  * every blob under blobs/<alg>/: name is lowercase hex of the right length, content hashes to it
  * every descriptor reachable from index.json: digest matches ^sha256:[a-f0-9]{64}$, blob exists,
    size == file size, mediaType of the fetched manifest/index equals the descriptor's, `data`
    (if any) decodes to the content
  * config: len(rootfs.diff_ids) == len(layers); each diff_id == sha256 of the uncompressed layer
    (gzip and plain tar; zstd if the `zstd` tool is installed) unless --no-diff-ids;
    non-empty history entries count == layers (convention; image-spec config.md "history")
  * ref.name annotations on index.json descriptors follow the OCI ref grammar
  * manifest.json (Docker archive part, if present): entries point at blobs of this layout, Config is
    the config of an image listed in index.json, Layers equal that manifest's layers in order,
    RepoTags are name:tag
  * canonical JSON (sorted keys, compact: docs/image-format.md) for oci-layout, index.json, manifests, configs and
    manifest.json: sorted keys, no insignificant whitespace, no trailing newline, integers only,
    no duplicate keys (disable with --no-canonical)
Exit: 0 all good, 1 failures, 2 usage, 77 no schema directory.
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (no __pycache__ next to the tools)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema_util  # noqa: E402

OCI_FILES = ["image-layout-schema.json", "image-index-schema.json", "image-manifest-schema.json",
             "config-schema.json", "content-descriptor.json", "defs-descriptor.json", "defs.json"]
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LAYER_TYPES = ("application/vnd.oci.image.layer.", "application/vnd.docker.image.rootfs.")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
ALG_HEX = {"sha256": 64, "sha512": 128}
REF_RE = re.compile(r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$")
REPO_TAG_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:[.:][A-Za-z0-9.-]+)*"
                         r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[\w][\w.-]{0,127}$")


def find_schema_dir(explicit):
    cands = []
    if explicit:
        cands.append(("--schema-dir", explicit))
    if os.environ.get("STRATA_SCHEMA_DIR"):
        cands.append(("$STRATA_SCHEMA_DIR", os.environ["STRATA_SCHEMA_DIR"]))
    cands.append(("tests/schemas", schema_util.VENDORED_SCHEMA_DIR))
    cands.append(("Debian image-spec package", schema_util.DEBIAN_OCI_SCHEMA_DIR))
    tried = []
    for label, d in cands:
        missing = [f for f in OCI_FILES if not os.path.isfile(os.path.join(d, f))]
        if not missing:
            return d, tried
        tried.append(f"{label} {d} (missing {', '.join(missing)})")
        if label == "--schema-dir":
            break  # an explicit choice must not silently fall back
    return None, tried


class Checker:
    def __init__(self, layout, schemas, canonical, diff_ids):
        self.layout = layout
        self.schemas = schemas
        self.canonical = canonical
        self.check_diff_ids = diff_ids
        self.failures = []
        self.notes = []
        self.validators = {}
        self.seen = set()
        self.images = {}  # config hex -> manifest dict (for manifest.json cross-checks)
        self.n_manifests = 0

    def fail(self, where, msg):
        self.failures.append(f"FAIL: {where}: {msg}")

    def v(self, name):
        if name not in self.validators:
            self.validators[name] = self.schemas.validator(name)
        return self.validators[name]

    def schema_check(self, where, schema, doc):
        for e in schema_util.errors_of(self.v(schema), doc):
            self.fail(where, f"{schema}: {e}")

    # ---- JSON parsing with canonical-form checks ----
    def parse_json(self, where, data):
        dup = []

        def hook(pairs):
            keys = [k for k, _ in pairs]
            if len(keys) != len(set(keys)):
                dup.append(sorted({k for k in keys if keys.count(k) > 1}))
            return dict(pairs)

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail(where, f"not UTF-8: {e}")
            return None
        if text.startswith("\ufeff"):
            self.fail(where, "starts with a UTF-8 BOM")
            text = text[1:]
        try:
            doc = json.loads(text, object_pairs_hook=hook)
        except json.JSONDecodeError as e:
            self.fail(where, f"invalid JSON: {e}")
            return None
        for d in dup:
            self.fail(where, f"duplicate JSON object keys {d}")
        if self.canonical:
            floats = []

            def walk(x, path):
                if isinstance(x, float):
                    floats.append(path or "/")
                elif isinstance(x, dict):
                    for k, y in x.items():
                        walk(y, f"{path}/{k}")
                elif isinstance(x, list):
                    for i, y in enumerate(x):
                        walk(y, f"{path}/{i}")
            walk(doc, "")
            for p in floats:
                self.fail(where, f"non-integer number at {p} (canonical JSON allows integers only)")
            canon = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            if canon != data:
                if data.endswith(b"\n") and canon == data.rstrip(b"\n"):
                    why = "has a trailing newline"
                else:
                    i = next((i for i, (a, b) in enumerate(zip(canon, data)) if a != b), min(len(canon), len(data)))
                    why = (f"differs from sorted-key compact form at byte {i}: "
                           f"got {data[max(0, i - 20):i + 20]!r}, expected {canon[max(0, i - 20):i + 20]!r}")
                self.fail(where, f"not canonical JSON (sorted keys, compact): {why}")
        return doc

    def blob_path(self, digest):
        alg, _, hexpart = digest.partition(":")
        return os.path.join(self.layout, "blobs", alg, hexpart)

    # ---- blobs ----
    def check_all_blobs(self):
        bdir = os.path.join(self.layout, "blobs")
        if not os.path.isdir(bdir):
            self.fail("blobs/", "missing (the layout MUST have a blobs directory)")
            return 0
        n = 0
        for alg in sorted(os.listdir(bdir)):
            adir = os.path.join(bdir, alg)
            if alg not in ALG_HEX:
                self.fail(f"blobs/{alg}", "unknown/unsupported digest algorithm directory (this project writes sha256 only)")
                continue
            if not os.path.isdir(adir):
                self.fail(f"blobs/{alg}", "not a directory")
                continue
            for name in sorted(os.listdir(adir)):
                where = f"blobs/{alg}/{name}"
                p = os.path.join(adir, name)
                if not os.path.isfile(p) or os.path.islink(p):
                    self.fail(where, "not a regular file")
                    continue
                if not re.fullmatch(f"[a-f0-9]{{{ALG_HEX[alg]}}}", name):
                    self.fail(where, f"file name is not {ALG_HEX[alg]} lowercase hex digits")
                    continue
                h = hashlib.new(alg)
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                if h.hexdigest() != name:
                    self.fail(where, f"content digest is {alg}:{h.hexdigest()} (blob corrupted or misnamed)")
                n += 1
        return n

    def fetch(self, where, desc):
        """Check a descriptor against its blob; return the blob bytes (or None)."""
        if not isinstance(desc, dict):
            self.fail(where, "descriptor is not an object")
            return None
        digest, size = desc.get("digest"), desc.get("size")
        if not isinstance(digest, str) or not DIGEST_RE.match(digest):
            self.fail(where, f"digest {digest!r} does not match ^sha256:[a-f0-9]{{64}}$")
            return None
        p = self.blob_path(digest)
        if not os.path.isfile(p):
            self.fail(where, f"blob {digest} missing (blobs/sha256/{digest[7:]})")
            return None
        actual = os.path.getsize(p)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            self.fail(where, f"size {size!r} is not a non-negative integer")
        elif size != actual:
            self.fail(where, f"descriptor size {size} != blob size {actual} for {digest}")
        if "data" in desc:
            try:
                d = base64.b64decode(desc["data"], validate=True)
                with open(p, "rb") as f:
                    if d != f.read():
                        self.fail(where, "descriptor data (base64) differs from the blob content")
            except Exception as e:  # noqa: BLE001
                self.fail(where, f"descriptor data is not valid base64: {e}")
        return p

    def read_blob(self, p):
        with open(p, "rb") as f:
            return f.read()

    # ---- graph walk ----
    def walk_index(self, where, doc, top):
        self.schema_check(where, "image-index-schema.json", doc)
        if not isinstance(doc, dict):
            return
        mt = doc.get("mediaType")
        if mt is not None and mt != MT_INDEX:
            self.fail(where, f"mediaType {mt!r} != {MT_INDEX}")
        for i, d in enumerate(doc.get("manifests") or []):
            w = f"{where} manifests[{i}]"
            if not isinstance(d, dict):
                continue
            ann = d.get("annotations") or {}
            ref = ann.get("org.opencontainers.image.ref.name") if isinstance(ann, dict) else None
            if ref is not None:
                if not top:
                    self.notes.append(f"note: {w}: ref.name on a nested index has no meaning (spec: index.json only)")
                if not isinstance(ref, str) or not REF_RE.match(ref):
                    self.fail(w, f"org.opencontainers.image.ref.name {ref!r} does not follow the OCI ref grammar")
            self.walk_desc(w, d)
        if isinstance(doc.get("subject"), dict):
            self.fetch(f"{where} subject", doc["subject"])

    def walk_desc(self, where, d):
        p = self.fetch(where, d)
        if p is None:
            return
        digest, mt = d.get("digest"), d.get("mediaType")
        if (digest, mt) in self.seen:
            return
        self.seen.add((digest, mt))
        short = f"blob {digest[7:19]}"
        if mt in (MT_INDEX, MT_MANIFEST):
            doc = self.parse_json(f"{short} ({mt.split('.')[-2]})", self.read_blob(p))
            if doc is None:
                return
            inner = doc.get("mediaType") if isinstance(doc, dict) else None
            if inner is not None and inner != mt:
                self.fail(where, f"descriptor mediaType {mt} but the blob says {inner}")
            if mt == MT_INDEX:
                self.walk_index(f"index {digest[7:19]}", doc, top=False)
            else:
                self.walk_manifest(f"manifest {digest[7:19]}", digest, doc)
        elif mt in (MT_DOCKER_LIST, MT_DOCKER_MANIFEST):
            self.notes.append(f"note: {where}: Docker media type {mt}: only digest/size checked")

    def walk_manifest(self, where, digest, doc):
        self.n_manifests += 1
        self.schema_check(where, "image-manifest-schema.json", doc)
        if not isinstance(doc, dict):
            return
        cfg = doc.get("config")
        layers = doc.get("layers") if isinstance(doc.get("layers"), list) else []
        cfg_doc = None
        cp = self.fetch(f"{where} config", cfg)
        if cp is not None and isinstance(cfg, dict) and cfg.get("mediaType") == MT_CONFIG:
            cfg_doc = self.parse_json(f"config {cfg['digest'][7:19]}", self.read_blob(cp))
            if cfg_doc is not None:
                self.schema_check(f"config {cfg['digest'][7:19]}", "config-schema.json", cfg_doc)
                self.images[cfg["digest"][7:]] = doc
        layer_paths = []
        for i, ld in enumerate(layers):
            lp = self.fetch(f"{where} layers[{i}]", ld)
            layer_paths.append((lp, ld.get("mediaType") if isinstance(ld, dict) else None))
        if isinstance(doc.get("subject"), dict):
            self.fetch(f"{where} subject", doc["subject"])
        if isinstance(cfg_doc, dict):
            self.check_config(f"config {cfg['digest'][7:19]}", cfg_doc, layer_paths)

    def check_config(self, where, cfg, layer_paths):
        rootfs = cfg.get("rootfs") if isinstance(cfg.get("rootfs"), dict) else {}
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs.get("diff_ids"), list) else []
        if len(diff_ids) != len(layer_paths):
            self.fail(where, f"rootfs.diff_ids has {len(diff_ids)} entries but the manifest has {len(layer_paths)} layers")
        for i, did in enumerate(diff_ids):
            if not isinstance(did, str) or not DIGEST_RE.match(did):
                self.fail(where, f"rootfs.diff_ids[{i}] {did!r} does not match ^sha256:[a-f0-9]{{64}}$")
        hist = cfg.get("history")
        if isinstance(hist, list):
            n = sum(1 for h in hist if isinstance(h, dict) and not h.get("empty_layer"))
            if n != len(layer_paths):
                self.fail(where, f"history has {n} non-empty_layer entries but there are {len(layer_paths)} layers")
        if not self.check_diff_ids:
            return
        for i, ((lp, mt), did) in enumerate(zip(layer_paths, diff_ids)):
            if lp is None or not isinstance(did, str) or not (mt or "").startswith(LAYER_TYPES):
                continue
            got = self.uncompressed_digest(lp)
            if got is None:
                self.notes.append(f"note: {where}: layer {i}: compression not recognised here, diff_id not verified")
            elif got != did:
                self.fail(where, f"rootfs.diff_ids[{i}] is {did} but the uncompressed layer {i} hashes to {got}")

    def uncompressed_digest(self, path):
        with open(path, "rb") as f:
            magic = f.read(4)
        h = hashlib.sha256()
        try:
            if magic[:2] == b"\x1f\x8b":
                with gzip.open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            elif magic == b"\x28\xb5\x2f\xfd":
                if not shutil.which("zstd"):
                    return None
                proc = subprocess.Popen(["zstd", "-dc", path], stdout=subprocess.PIPE)
                for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
                    h.update(chunk)
                if proc.wait() != 0:
                    return "sha256:<zstd failed to decompress>"
            else:
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
        except Exception as e:  # noqa: BLE001 (zlib.error, EOFError, BadGzipFile, OSError)
            return f"<undecompressable: {e}>"
        return "sha256:" + h.hexdigest()

    # ---- Docker manifest.json ----
    def check_docker_manifest(self, data):
        where = "manifest.json"
        doc = self.parse_json(where, data)
        if doc is None:
            return
        if not isinstance(doc, list) or not doc:
            self.fail(where, "must be a non-empty JSON array")
            return
        for i, e in enumerate(doc):
            w = f"{where}[{i}]"
            if not isinstance(e, dict):
                self.fail(w, "entry is not an object")
                continue
            cfgp, layers, tags = e.get("Config"), e.get("Layers"), e.get("RepoTags")
            m = re.fullmatch(r"blobs/sha256/([a-f0-9]{64})", cfgp or "") if isinstance(cfgp, str) else None
            if not m:
                self.fail(w, f"Config {cfgp!r} is not blobs/sha256/<64 hex>")
            elif not os.path.isfile(os.path.join(self.layout, cfgp)):
                self.fail(w, f"Config {cfgp} does not exist")
            if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
                self.fail(w, "Layers must be an array of paths")
                layers = []
            for lpath in layers:
                if not os.path.isfile(os.path.join(self.layout, lpath)):
                    self.fail(w, f"layer {lpath} does not exist")
            if m:
                man = self.images.get(m.group(1))
                if man is None:
                    self.fail(w, f"Config {cfgp} is not the config of any image manifest reachable from index.json")
                else:
                    want = ["blobs/sha256/" + ld.get("digest", "")[7:] for ld in man.get("layers", []) if isinstance(ld, dict)]
                    if layers != want:
                        self.fail(w, f"Layers {layers} differ from the OCI manifest's layers {want}")
            if tags is not None:
                if not isinstance(tags, list):
                    self.fail(w, "RepoTags must be an array or null")
                else:
                    for t in tags:
                        if not isinstance(t, str) or not REPO_TAG_RE.match(t):
                            self.fail(w, f"RepoTags entry {t!r} is not a tagged reference name:tag (docker load rejects it)")

    def run(self):
        if not os.path.isdir(self.layout):
            self.fail(self.layout, "not a directory")
            return
        p = os.path.join(self.layout, "oci-layout")
        if not os.path.isfile(p):
            self.fail("oci-layout", "missing")
        else:
            doc = self.parse_json("oci-layout", self.read_blob(p))
            if doc is not None:
                self.schema_check("oci-layout", "image-layout-schema.json", doc)
                if isinstance(doc, dict) and doc.get("imageLayoutVersion") != "1.0.0":
                    self.fail("oci-layout", f"imageLayoutVersion {doc.get('imageLayoutVersion')!r} != \"1.0.0\"")
        self.n_blobs = self.check_all_blobs()
        p = os.path.join(self.layout, "index.json")
        if not os.path.isfile(p):
            self.fail("index.json", "missing")
        else:
            doc = self.parse_json("index.json", self.read_blob(p))
            if doc is not None:
                self.walk_index("index.json", doc, top=True)
        p = os.path.join(self.layout, "manifest.json")
        if os.path.isfile(p):
            self.check_docker_manifest(self.read_blob(p))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layout")
    ap.add_argument("--schema-dir")
    ap.add_argument("--no-canonical", action="store_true", help="do not require canonical JSON bytes")
    ap.add_argument("--no-diff-ids", action="store_true", help="do not decompress layers to verify rootfs.diff_ids")
    ap.add_argument("-q", "--quiet", action="store_true", help="print failures only")
    a = ap.parse_args()
    sdir, tried = find_schema_dir(a.schema_dir)
    if sdir is None:
        print("SKIP: no OCI schema directory found; tried: " + "; ".join(tried)
              + ". Install golang-github-opencontainers-image-spec-dev or set STRATA_SCHEMA_DIR.")
        return schema_util.SKIP
    c = Checker(a.layout, schema_util.SchemaDir(sdir), not a.no_canonical, not a.no_diff_ids)
    c.run()
    if not a.quiet:
        for n in c.notes:
            print(n)
    for f in c.failures:
        print(f)
    if c.failures:
        print(f"validate_oci_schemas: {a.layout}: {len(c.failures)} failure(s) (schemas: {sdir})")
        return 1
    if c.n_manifests == 0:
        print(f"FAIL: index.json: no image manifest reachable (nothing to validate)")
        return 1
    if not a.quiet:
        print(f"OK: {a.layout}: {c.n_manifests} manifest(s), {c.n_blobs} blob(s) valid (schemas: {sdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
