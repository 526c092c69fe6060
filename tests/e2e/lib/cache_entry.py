#!/usr/bin/env python3
"""Rewrites a strata registry-cache entry the way an attacker with push rights could
(tests/e2e/cache_registry.sh). Talks plain HTTP to a registry on 127.0.0.1 only.

  cache_entry.py HOST:PORT REPO TAG unsign          drop the envelope's signatures
  cache_entry.py HOST:PORT REPO TAG output KEY.pem  a validly signed claim of another output
  cache_entry.py HOST:PORT REPO TAG key KEY.pem     a validly signed entry for another key
  cache_entry.py HOST:PORT REPO TAG layer           another layer blob, the signed config kept
"""
import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def request(method, url, body=None, headers=None):
    assert url.startswith("http://127.0.0.1:"), url
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def upload(base, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, headers, _ = request("POST", f"{base}/v2/{repo}/blobs/uploads/", b"")
    location = headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    request("PUT", f"{location}{sep}digest={digest}", data,
            {"Content-Type": "application/octet-stream"})
    return digest, len(data)


def sign(payload, key):
    pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)
    with tempfile.NamedTemporaryFile() as f:
        f.write(pae)
        f.flush()
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", f.name],
                             check=True, capture_output=True).stdout
    return base64.b64encode(sig).decode()


def main():
    registry, repo, tag, action = sys.argv[1:5]
    key = sys.argv[5] if len(sys.argv) > 5 else None
    base = f"http://{registry}"
    _, _, body = request("GET", f"{base}/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST})
    manifest = json.loads(body)
    _, _, config = request("GET", f"{base}/v2/{repo}/blobs/{manifest['config']['digest']}")
    envelope = json.loads(config)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    if action == "unsign":
        envelope["signatures"] = []
    elif action in ("output", "key"):
        if action == "output":
            for s in statement["subject"]:
                if s["name"] == "package-output":
                    s["digest"]["sha256"] = "0" * 64
        else:
            statement["predicate"]["key"] = "sha256:" + "1" * 64
        payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        envelope["payload"] = base64.b64encode(payload).decode()
        envelope["signatures"] = [{"keyid": envelope["signatures"][0].get("keyid", ""),
                                   "sig": sign(payload, key)}]
    elif action == "layer":
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as t:
            info = tarfile.TarInfo("owned")
            data = b"not what was built\n"
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        digest, size = upload(base, repo, gzip.compress(tar.getvalue(), mtime=0))
        manifest["layers"][0]["digest"] = digest
        manifest["layers"][0]["size"] = size
    else:
        sys.exit(f"unknown action {action}")
    if action != "layer":
        data = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
        digest, size = upload(base, repo, data)
        manifest["config"]["digest"] = digest
        manifest["config"]["size"] = size
    request("PUT", f"{base}/v2/{repo}/manifests/{tag}",
            json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode(),
            {"Content-Type": MANIFEST})


if __name__ == "__main__":
    main()
