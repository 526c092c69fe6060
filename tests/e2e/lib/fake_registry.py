#!/usr/bin/env python3
"""A small fake OCI distribution registry (and Bearer token server) for strata's e2e tests.

Python 3 stdlib only. Listens on 127.0.0.1 on free ports; writes --info FILE (JSON: port,
token_port, redirect_port, tags {name: digest}, target {digest, size}) once it listens; exits
after --max-requests requests or --max-seconds seconds, whichever comes first (the test also
kills it by pid). Every request is logged to --log FILE as one line:
  SERVER METHOD PATH status=CODE auth=none|basic|bearer range=VALUE|-
SERVER is "registry", "token" or "redirect".

Content: every --layout DIR (an OCI image layout, e.g. one strata built) is loaded into
memory; its blobs are served under any repository name, its index.json entries (and the
manifests nested in indexes) are manifests, tagged by their org.opencontainers.image.ref.name
annotation. Pushed content is kept in memory too.

API: GET/HEAD /v2/; GET/HEAD manifests and blobs by tag or digest (blob GET honours
"Range: bytes=N-" with 206 and Content-Range); blob uploads (POST, POST ?digest= monolithic,
PUT ?digest=, chunked PATCH with Content-Range, POST ?mount=&from= cross-repository mount);
manifest PUT (with --oci-subject, answers OCI-Subject for a manifest with a subject);
GET /v2/NAME/referrers/DIGEST (artifactType filter with OCI-Filters-Applied, pages of
--referrers-page entries with a Link header); GET /v2/NAME/tags/list.

The target blob is the first layer of the first image manifest; the --blob-fault faults hit
it. Run with --help for every knob.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import socket
import sys
import threading
import time
import urllib.parse

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

LOCK = threading.Lock()
STATE = {
    "blobs": {},  # digest -> bytes
    "manifests": {},  # digest -> (bytes, media type)
    "tags": {},  # tag -> digest (any repository)
    "uploads": {},  # uuid -> bytearray
    "tokens": {},  # token -> {repo: set(actions)}
    "requests": 0,
    "faults": {},  # fault name -> times it fired
}
ARGS = None
PORTS = {}
DONE = threading.Event()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def log(server, handler, status):
    auth = handler.headers.get("Authorization", "")
    kind = auth.split(" ", 1)[0].lower() if auth else "none"
    rng = handler.headers.get("Range", "-")
    line = f"{server} {handler.command} {handler.path} status={status} auth={kind} range={rng}\n"
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(line)


def fire(name, limit):
    """True the first `limit` times fault `name` is asked for (limit < 0: always)."""
    with LOCK:
        n = STATE["faults"].get(name, 0)
        if 0 <= limit <= n:
            return False
        STATE["faults"][name] = n + 1
        return True


def count_request():
    with LOCK:
        STATE["requests"] += 1
        if STATE["requests"] >= ARGS.max_requests:
            DONE.set()


# ---------------------------------------------------------------------------------------------
# Loading layouts and making hostile documents


def load_layout(path):
    blob_dir = os.path.join(path, "blobs", "sha256")
    for name in sorted(os.listdir(blob_dir)):
        with open(os.path.join(blob_dir, name), "rb") as f:
            STATE["blobs"]["sha256:" + name] = f.read()
    with open(os.path.join(path, "index.json"), "rb") as f:
        index = json.load(f)

    def walk(descs, tag_from_annotations):
        for d in descs:
            data = STATE["blobs"].get(d["digest"])
            if data is None:
                continue
            STATE["manifests"][d["digest"]] = (data, d["mediaType"])
            tag = (d.get("annotations") or {}).get("org.opencontainers.image.ref.name")
            if tag_from_annotations and tag:
                STATE["tags"].setdefault(tag, d["digest"])
            if d["mediaType"] in INDEX_TYPES:
                walk(json.loads(data).get("manifests", []), False)

    walk(index.get("manifests", []), True)
    if "latest" not in STATE["tags"] and index.get("manifests"):
        STATE["tags"]["latest"] = index["manifests"][0]["digest"]


def first_image():
    for digest, (data, media_type) in STATE["manifests"].items():
        if media_type in (OCI_MANIFEST, DOCKER_MANIFEST):
            return digest, json.loads(data)
    sys.exit("fake_registry: no image manifest in the layouts")


def add_manifest(doc_bytes, media_type, tag):
    digest = sha256(doc_bytes)
    STATE["manifests"][digest] = (doc_bytes, media_type)
    STATE["tags"][tag] = digest
    return digest


def add_blob(data):
    digest = sha256(data)
    STATE["blobs"][digest] = data
    return digest


def mutate(kind):
    """A hostile image tagged "hostile", made from the first image manifest."""
    _, manifest = first_image()
    config = json.loads(STATE["blobs"][manifest["config"]["digest"]])
    media_type = manifest.get("mediaType", OCI_MANIFEST)
    deep = b"[" * 100000 + b"]" * 100000
    if kind == "nested-manifest":
        body = b'{"schemaVersion":2,"mediaType":"' + media_type.encode() + b'","config":' + deep + b"}"
        add_manifest(body, media_type, "hostile")
        return
    if kind == "nested-config":
        body = canonical(config)[:-1] + b',"x":' + deep + b"}"
        manifest["config"] = {"mediaType": manifest["config"]["mediaType"],
                              "digest": add_blob(body), "size": len(body)}
    elif kind == "config-not-object":
        body = b"[1,2,3]"
        manifest["config"] = {"mediaType": manifest["config"]["mediaType"],
                              "digest": add_blob(body), "size": len(body)}
    elif kind == "size-2^63":
        manifest["layers"][0]["size"] = 2**63
    elif kind == "size-max":
        manifest["layers"][0]["size"] = 2**63 - 1
    elif kind == "config-huge":
        manifest["config"]["size"] = 2**40
    elif kind == "diffid":
        config["rootfs"]["diff_ids"][0] = sha256(b"not this layer")
        body = canonical(config)
        manifest["config"] = {"mediaType": manifest["config"]["mediaType"],
                              "digest": add_blob(body), "size": len(body)}
    elif kind == "schema1":
        body = canonical({"schemaVersion": 1, "name": "hostile", "tag": "hostile",
                          "architecture": "amd64", "fsLayers": [], "history": []})
        add_manifest(body, SCHEMA1, "hostile")
        return
    elif kind == "foreign":
        manifest["layers"][0]["urls"] = ["http://127.0.0.1:9/elsewhere"]
    else:
        sys.exit(f"fake_registry: unknown --mutate {kind}")
    add_manifest(canonical(manifest), media_type, "hostile")


# ---------------------------------------------------------------------------------------------
# Auth


def bearer_challenge(repo, actions):
    realm = f"http://127.0.0.1:{PORTS['token']}/token"
    value = f'Bearer realm="{realm}",service="fake-registry"'
    if repo:
        value += f',scope="repository:{repo}:{actions}"'
    return value


def check_basic(header):
    if not header.startswith("Basic "):
        return None
    try:
        return base64.b64decode(header[6:]).decode() == ARGS.user
    except Exception:
        return False


def grant(query, auth_header):
    """The token server: a token for the scopes asked, or None (401)."""
    authed = False
    if auth_header:
        ok = check_basic(auth_header)
        if not ok:
            return None
        authed = True
    grants = {}
    for scope in query.get("scope", []):
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            repo, actions = parts[1], set(parts[2].split(","))
            if not authed:
                if repo in ARGS.private:
                    continue  # anonymous: nothing on a private repository
                actions &= {"pull"}
            grants.setdefault(repo, set()).update(actions)
    token = secrets.token_hex(16)
    with LOCK:
        STATE["tokens"][token] = grants
    return token


def token_allows(header, repo, action):
    if not header.startswith("Bearer "):
        return False
    with LOCK:
        grants = STATE["tokens"].get(header[7:])
    return grants is not None and action in grants.get(repo, set())


# ---------------------------------------------------------------------------------------------
# HTTP


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name_tag = "?"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=(), content_type="application/json", length=None):
        log(self.server_name_tag, self, status)
        self.send_response(status)
        if body or length is not None or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            try:
                self.wfile.write(body)
            except OSError:
                pass

    def error(self, status, code, message, headers=()):
        body = canonical({"errors": [{"code": code, "message": message}]})
        self.reply(status, body, headers)

    def body(self, cap=None):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 256 << 20:
            self.close_connection = True
            return None
        data = self.rfile.read(n) if n else b""
        return data

    def drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class TokenHandler(Base):
    server_name_tag = "token"

    def do_GET(self):
        count_request()
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.error(404, "NOT_FOUND", "no such path")
        query = urllib.parse.parse_qs(url.query)
        token = grant(query, self.headers.get("Authorization", ""))
        if token is None:
            return self.error(401, "UNAUTHORIZED", "bad credentials",
                              [("WWW-Authenticate", 'Basic realm="fake-token"')])
        self.reply(200, canonical({"token": token, "expires_in": 300}))


class RedirectHandler(Base):
    """The storage a registry redirects blob GETs to: like S3, it refuses Authorization."""

    server_name_tag = "redirect"

    def do_GET(self):
        count_request()
        if self.headers.get("Authorization"):
            return self.error(400, "InvalidArgument", "Only one auth mechanism allowed")
        digest = self.path.rsplit("/", 1)[-1]
        with LOCK:
            data = STATE["blobs"].get(digest)
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", "no such blob")
        self.reply(200, data, content_type="application/octet-stream")


class RegistryHandler(Base):
    server_name_tag = "registry"

    # -- routing ---------------------------------------------------------------------------

    def route(self):
        count_request()
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query)
        path = url.path
        if path == "/token" and ARGS.auth == "bearer" and not ARGS.token_port_separate:
            return TokenHandler.do_GET(self)
        if path in ("/v2", "/v2/"):
            return self.ping()
        if not path.startswith("/v2/"):
            return self.error(404, "NOT_FOUND", "no such path")
        rest = path[4:]
        for marker, kind in (("/manifests/", "manifest"), ("/blobs/uploads", "upload"),
                             ("/blobs/", "blob"), ("/referrers/", "referrers"),
                             ("/tags/list", "tags")):
            i = rest.rfind(marker)
            if i > 0:
                repo, ref = rest[:i], rest[i + len(marker):]
                break
        else:
            return self.error(404, "NAME_UNKNOWN", "no such path")
        if not self.authorized(repo, kind):
            return
        if self.injected_failure():
            return
        return getattr(self, f"{kind}_{self.command.lower()}", self.not_allowed)(repo, ref)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = route

    def not_allowed(self, repo, ref):
        self.body()
        self.error(405, "UNSUPPORTED", f"{self.command} is not supported here")

    def ping(self):
        if ARGS.auth == "bearer" and not self.headers.get("Authorization", "").startswith("Bearer "):
            return self.error(401, "UNAUTHORIZED", "authentication required",
                              [("WWW-Authenticate", bearer_challenge("", ""))])
        self.reply(200, b"{}")

    def authorized(self, repo, kind):
        if ARGS.auth != "bearer":
            return True
        action = "pull" if self.command in ("GET", "HEAD") else "push"
        if token_allows(self.headers.get("Authorization", ""), repo, action):
            return True
        self.body()
        actions = "pull" if action == "pull" else "pull,push"
        challenge = bearer_challenge(repo, actions)
        if self.headers.get("Authorization", "").startswith("Bearer "):
            challenge += ',error="insufficient_scope"'
        self.error(401, "UNAUTHORIZED", "authentication required",
                   [("WWW-Authenticate", challenge)])
        return False

    def injected_failure(self):
        if ARGS.fail_429 and fire("429", ARGS.fail_429):
            self.body()
            self.error(429, "TOOMANYREQUESTS", "slow down",
                       [("Retry-After", str(ARGS.retry_after))])
            return True
        if ARGS.fail_503 and fire("503", ARGS.fail_503):
            self.body()
            self.error(503, "UNAVAILABLE", "try again")
            return True
        cap = ARGS.max_body
        n = int(self.headers.get("Content-Length") or 0)
        if cap and n > cap:
            self.body()
            self.error(413, "SIZE_INVALID", f"request body over {cap} bytes")
            return True
        return False

    # -- manifests -------------------------------------------------------------------------

    def lookup_manifest(self, ref):
        with LOCK:
            digest = ref if ref.startswith("sha256:") else STATE["tags"].get(ref)
            found = STATE["manifests"].get(digest) if digest else None
        return digest, found

    def manifest_get(self, repo, ref):
        digest, found = self.lookup_manifest(ref)
        if found is None:
            return self.error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
        data, media_type = found
        if ARGS.manifest_fault in ("huge", "endless") and self.command == "GET":
            return self.stream_endless(media_type, ARGS.manifest_fault == "huge")
        self.reply(200, data, [("Docker-Content-Digest", digest)], content_type=media_type)

    manifest_head = manifest_get

    def stream_endless(self, content_type, declared):
        """Zeros until the client hangs up, bounded by --stream-seconds."""
        log(self.server_name_tag, self, 200)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if declared:
            self.send_header("Content-Length", str(8 << 30))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"\0" * 65536
        if not declared:
            chunk = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        deadline = time.monotonic() + ARGS.stream_seconds
        sent = 0
        try:
            while time.monotonic() < deadline and not DONE.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        with LOCK:
            STATE["faults"]["streamed"] = STATE["faults"].get("streamed", 0) + sent
        self.close_connection = True

    def manifest_put(self, repo, ref):
        data = self.body()
        if data is None or len(data) > 4 << 20:
            return self.error(413, "SIZE_INVALID", "manifest over 4 MiB")
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        digest = sha256(data)
        if ref.startswith("sha256:") and ref != digest:
            return self.error(400, "DIGEST_INVALID", f"body is {digest}, not {ref}")
        try:
            doc = json.loads(data)
        except ValueError:
            return self.error(400, "MANIFEST_INVALID", "not JSON")
        if doc.get("mediaType") and doc["mediaType"] != media_type:
            return self.error(400, "MANIFEST_INVALID",
                              f"Content-Type {media_type} but mediaType {doc['mediaType']}")
        with LOCK:
            STATE["manifests"][digest] = (data, media_type)
            if not ref.startswith("sha256:"):
                STATE["tags"][ref] = digest
        headers = [("Location", f"/v2/{repo}/manifests/{digest}"),
                   ("Docker-Content-Digest", digest)]
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if ARGS.oci_subject and isinstance(subject, dict) and "digest" in subject:
            headers.append(("OCI-Subject", subject["digest"]))
        self.reply(201, b"", headers)

    # -- blobs -----------------------------------------------------------------------------

    def blob_get(self, repo, digest):
        with LOCK:
            data = STATE["blobs"].get(digest)
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", f"blob unknown: {digest}")
        target = digest == TARGET["digest"]
        if ARGS.redirect_blobs and self.command == "GET":
            location = f"http://127.0.0.1:{PORTS['redirect']}/blobs/{digest}"
            return self.reply(307, b"", [("Location", location)])
        headers = [("Docker-Content-Digest", digest), ("Accept-Ranges", "bytes")]
        if self.command == "HEAD":
            return self.reply(200, b"", headers, "application/octet-stream", length=len(data))
        fault = ARGS.blob_fault if target else None
        if fault == "tamper":
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        elif fault == "truncate":
            data = data[: len(data) // 2]
        elif fault == "long":
            data = data + b"\0" * 4096
        start = 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-") and not ARGS.ignore_range:
            try:
                start = int(rng[6:-1])
            except ValueError:
                start = -1
            if not 0 <= start < len(data):
                return self.reply(416, b"", [("Content-Range", f"bytes */{len(data)}")])
        if fault == "drop" and fire("drop", ARGS.fault_count):
            # The full length announced, half of what is left sent, then the connection closes.
            log(self.server_name_tag, self, 206 if start else 200)
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            self.wfile.write(data[start: start + (len(data) - start) // 2])
            return self.drop()
        if start and ARGS.bad_range:
            # A part, but not the one asked for (one byte later).
            headers.append(("Content-Range", f"bytes {start + 1}-{len(data) - 1}/{len(data)}"))
            return self.reply(206, data[start + 1:], headers, "application/octet-stream")
        if start:
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
            return self.reply(206, data[start:], headers, "application/octet-stream")
        self.reply(200, data, headers, "application/octet-stream")

    blob_head = blob_get

    def blob_delete(self, repo, digest):
        with LOCK:
            found = STATE["blobs"].pop(digest, None)
        if found is None:
            return self.error(404, "BLOB_UNKNOWN", f"blob unknown: {digest}")
        self.reply(202, b"")

    # -- uploads ---------------------------------------------------------------------------

    def upload_reply(self, repo, uuid, status=202):
        with LOCK:
            size = len(STATE["uploads"][uuid])
        headers = [("Location", f"/v2/{repo}/blobs/uploads/{uuid}"),
                   ("Range", f"0-{max(size - 1, 0)}"), ("Docker-Upload-UUID", uuid)]
        if ARGS.chunk_min:
            headers.append(("OCI-Chunk-Min-Length", str(ARGS.chunk_min)))
        self.reply(status, b"", headers)

    def blob_created(self, repo, digest):
        self.reply(201, b"", [("Location", f"/v2/{repo}/blobs/{digest}"),
                              ("Docker-Content-Digest", digest)])

    def upload_post(self, repo, ref):
        data = self.body()
        mount = self.query.get("mount", [None])[0]
        if mount:
            with LOCK:
                found = mount in STATE["blobs"]
            if found:
                return self.blob_created(repo, mount)
        digest = self.query.get("digest", [None])[0]
        if digest:
            if sha256(data) != digest:
                return self.error(400, "DIGEST_INVALID", f"body is {sha256(data)}, not {digest}")
            with LOCK:
                STATE["blobs"][digest] = data
            return self.blob_created(repo, digest)
        uuid = secrets.token_hex(8)
        with LOCK:
            STATE["uploads"][uuid] = bytearray(data or b"")
        self.upload_reply(repo, uuid)

    def upload_patch(self, repo, ref):
        uuid = ref.strip("/")
        data = self.body()
        with LOCK:
            buf = STATE["uploads"].get(uuid)
        if buf is None:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", f"no upload {uuid}")
        content_range = self.headers.get("Content-Range")
        if content_range:
            try:
                start, end = (int(x) for x in content_range.split("-"))
            except ValueError:
                return self.error(400, "BLOB_UPLOAD_INVALID", f"Content-Range {content_range}")
            if start != len(buf) or end - start + 1 != len(data):
                return self.reply(416, b"", [("Range", f"0-{max(len(buf) - 1, 0)}")])
        if ARGS.chunk_min and len(data) < ARGS.chunk_min:
            return self.error(416, "SIZE_INVALID", f"chunk under {ARGS.chunk_min} bytes")
        with LOCK:
            buf.extend(data)
        self.upload_reply(repo, uuid, 201 if ARGS.patch_201 else 202)

    def upload_put(self, repo, ref):
        uuid = ref.strip("/")
        data = self.body()
        digest = self.query.get("digest", [None])[0]
        with LOCK:
            buf = STATE["uploads"].get(uuid)
        if buf is None:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", f"no upload {uuid}")
        whole = bytes(buf) + (data or b"")
        if not digest or sha256(whole) != digest:
            return self.error(400, "DIGEST_INVALID", f"upload is {sha256(whole)}, not {digest}")
        with LOCK:
            STATE["blobs"][digest] = whole
            del STATE["uploads"][uuid]
        self.blob_created(repo, digest)

    def upload_get(self, repo, ref):
        uuid = ref.strip("/")
        with LOCK:
            found = uuid in STATE["uploads"]
        if not found:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", f"no upload {uuid}")
        self.upload_reply(repo, uuid, 204)

    def upload_delete(self, repo, ref):
        with LOCK:
            STATE["uploads"].pop(ref.strip("/"), None)
        self.reply(204, b"")

    # -- referrers and tags ----------------------------------------------------------------

    def referrers_get(self, repo, digest):
        if ARGS.no_referrers:
            return self.error(404, "NOT_FOUND", "no referrers API")
        wanted = self.query.get("artifactType", [None])[0]
        entries = []
        with LOCK:
            manifests = list(STATE["manifests"].items())
        for d, (data, media_type) in manifests:
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            if not isinstance(doc, dict) or (doc.get("subject") or {}).get("digest") != digest:
                continue
            artifact_type = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
            if wanted and artifact_type != wanted:
                continue
            entry = {"mediaType": media_type, "digest": d, "size": len(data)}
            if artifact_type:
                entry["artifactType"] = artifact_type
            if doc.get("annotations"):
                entry["annotations"] = doc["annotations"]
            entries.append(entry)
        entries.sort(key=lambda e: e["digest"])
        last = self.query.get("last", [None])[0]
        if last:
            entries = [e for e in entries if e["digest"] > last]
        headers = []
        page = ARGS.referrers_page
        if page and len(entries) > page:
            entries = entries[:page]
            q = {"last": entries[-1]["digest"]}
            if wanted:
                q["artifactType"] = wanted
            link = f"/v2/{repo}/referrers/{digest}?{urllib.parse.urlencode(q)}"
            headers.append(("Link", f'<{link}>; rel="next"'))
        if wanted:
            headers.append(("OCI-Filters-Applied", "artifactType"))
        body = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        self.reply(200, body, headers, content_type=OCI_INDEX)

    def tags_get(self, repo, ref):
        with LOCK:
            tags = sorted(STATE["tags"])
        self.reply(200, canonical({"name": repo, "tags": tags}))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def serve(handler):
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


TARGET = {"digest": None, "size": 0}


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layout", action="append", default=[], help="an OCI layout to serve")
    p.add_argument("--info", required=True, help="JSON file written once listening")
    p.add_argument("--log", help="request log (one line per request)")
    p.add_argument("--max-requests", type=int, default=2000)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--mutate", help="a hostile image tagged 'hostile': nested-manifest, "
                   "nested-config, config-not-object, size-2^63, size-max, config-huge, "
                   "diffid, schema1, foreign")
    p.add_argument("--auth", choices=["none", "bearer"], default="none")
    p.add_argument("--token-port-separate", action="store_true",
                   help="the token realm on a second port")
    p.add_argument("--user", default="tester:s3cret", help="USER:PASSWORD the token server takes")
    p.add_argument("--private", action="append", default=[],
                   help="a repository anonymous tokens do not cover")
    p.add_argument("--fail-429", type=int, default=0, help="the first N requests: 429")
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--fail-503", type=int, default=0, help="the first N requests: 503")
    p.add_argument("--max-body", type=int, default=0, help="413 for request bodies over N bytes")
    p.add_argument("--patch-201", action="store_true", help="answer 201 to PATCH")
    p.add_argument("--chunk-min", type=int, default=0, help="OCI-Chunk-Min-Length")
    p.add_argument("--oci-subject", action="store_true")
    p.add_argument("--no-referrers", action="store_true", help="404 on the referrers API")
    p.add_argument("--referrers-page", type=int, default=0)
    p.add_argument("--redirect-blobs", action="store_true",
                   help="307 blob GETs to a second port that refuses Authorization")
    p.add_argument("--blob-fault", choices=["tamper", "truncate", "long", "drop"],
                   help="what the target blob's GET does wrong")
    p.add_argument("--fault-count", type=int, default=-1,
                   help="how many times --blob-fault drop fires (default: always)")
    p.add_argument("--ignore-range", action="store_true", help="answer Range with 200, all")
    p.add_argument("--bad-range", action="store_true",
                   help="answer Range bytes=N- with the part from N+1 (a wrong Content-Range)")
    p.add_argument("--manifest-fault", choices=["huge", "endless"],
                   help="manifest GETs stream zeros: 8 GiB declared, or chunked forever")
    p.add_argument("--stream-seconds", type=float, default=20)
    ARGS = p.parse_args()

    for layout in ARGS.layout:
        load_layout(layout)
    if ARGS.layout:
        _, manifest = first_image()
        if manifest.get("layers"):
            TARGET["digest"] = manifest["layers"][0]["digest"]
            TARGET["size"] = manifest["layers"][0]["size"]
    if ARGS.mutate:
        mutate(ARGS.mutate)

    registry = serve(RegistryHandler)
    PORTS["registry"] = registry.server_address[1]
    PORTS["token"] = PORTS["registry"]
    servers = [registry]
    if ARGS.auth == "bearer" and ARGS.token_port_separate:
        token = serve(TokenHandler)
        PORTS["token"] = token.server_address[1]
        servers.append(token)
    if ARGS.redirect_blobs:
        redirect = serve(RedirectHandler)
        PORTS["redirect"] = redirect.server_address[1]
        servers.append(redirect)
    info = {"port": PORTS["registry"], "token_port": PORTS["token"],
            "redirect_port": PORTS.get("redirect"), "tags": STATE["tags"], "target": TARGET}
    tmp = ARGS.info + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.rename(tmp, ARGS.info)
    DONE.wait(ARGS.max_seconds)
    DONE.set()
    for s in servers:
        s.shutdown()


if __name__ == "__main__":
    main()
