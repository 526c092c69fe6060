#!/usr/bin/env bash
# strata verify: a fresh build verifies (signed and unsigned, as root and as uid 65534); a
# tampered layer blob fails naming the layer and the file; a changed spec is a spec digest
# mismatch; a changed input file is named; a source changed behind its URL (served from
# 127.0.0.1) is a digest mismatch; the VSA is a valid, signed in-toto statement.
source "$(dirname "$0")/lib/e2e.sh"

cd "$WORK"
chmod 755 "$WORK"
"$STRATA" keygen --type ed25519 -o ed >/dev/null 2>&1
"$STRATA" keygen --type ed25519 -o other >/dev/null 2>&1

# verify_run NAME ARGS...: runs strata verify from the project copy, output in NAME.out/.err,
# exit code in $rc.
verify_run() {
  local name=$1
  shift
  rc=0
  (cd "$WORK/proj" && "$STRATA" verify "$@" >"$WORK/$name.out" 2>"$WORK/$name.err") || rc=$?
}
expect_in() {  # expect_in WHAT FILE TEXT
  grep -qF -- "$3" "$2" || { cat "$2" >&2; fail "$1: '$3' not in $2"; }
  pass "$1"
}

# ------------------------------------------------------------------ examples/hello, signed
cp -r "$SOURCE_DIR/examples/hello" proj
(cd proj && "$STRATA" build strata.yaml -o ../out --sign-key ../ed.key 2>>"$WORK/build.log" >/dev/null)
digest=$(golden hello.digest)
verify_run ok ../out/hello --provenance ../out/hello.provenance.dsse.json --key ../ed.pub \
  --vsa ../vsa.json --sign-key ../ed.key
expect_eq "fresh build verifies (exit 0)" 0 "$rc"
expect_eq "prints reproduced DIGEST" "reproduced $digest" "$(tail -n 1 ok.out)"
expect_in "signature checked" ok.err "ok   signature: ed25519"

# The VSA: a signed in-toto statement about the image, PASSED.
"$STRATA" attest verify vsa.json --key ed.pub --image out/hello >/dev/null \
  && pass "VSA envelope verifies with strata attest verify and its subject is the image" || fail "VSA envelope verifies with strata attest verify and its subject is the image"
python3 - vsa.json "$digest" <<'PY' && pass "VSA: verification_summary/v1, PASSED, subject = image" || fail "VSA: verification_summary/v1, PASSED, subject = image"
import base64, json, sys
env = json.load(open(sys.argv[1]))
s = json.loads(base64.b64decode(env["payload"]))
assert s["predicateType"] == "https://slsa.dev/verification_summary/v1", s["predicateType"]
p = s["predicate"]
assert p["verificationResult"] == "PASSED", p
assert p["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1", "STRATA_REPRODUCED"], p
assert p["policy"]["uri"] == "https://strata.dev/policies/rebuild/v1"
assert s["subject"][0]["digest"]["sha256"] == sys.argv[2].split(":")[1]
assert p["inputAttestations"][0]["digest"]["sha256"]
PY

verify_run json ../out/hello --provenance ../out/hello.provenance.json --json
expect_eq "unsigned provenance verifies (exit 0)" 0 "$rc"
python3 - json.out "$digest" <<'PY' && pass "--json: reproduced, subject, rebuilt and every check" || fail "--json: reproduced, subject, rebuilt and every check"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reproduced"] is True and r["subject"] == sys.argv[2] == r["rebuilt"], r
names = [c["name"] for c in r["checks"]]
assert names[0] == "signature" and names[-1] == "compare" and all(c["passed"] for c in r["checks"]), names
PY

verify_run nokey ../out/hello --provenance ../out/hello.provenance.dsse.json
expect_eq "signed provenance without --key is a usage error (exit 2)" 2 "$rc"
expect_in "says to pass --key" nokey.err "pass --key"
verify_run wrongkey ../out/hello --provenance ../out/hello.provenance.dsse.json --key ../other.pub
expect_eq "another key fails (exit 1)" 1 "$rc"
expect_in "names the signature check" wrongkey.err "FAIL signature"

# ------------------------------------------------------------------ a tampered layer blob
cp -r out tampered
layer=$(python3 - tampered/hello <<'PY'
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/index.json"))["manifests"][0]["digest"].split(":")[1]
print(json.load(open(f"{d}/blobs/sha256/{m}"))["layers"][0]["digest"].split(":")[1])
PY
)
mkdir unpacked
tar -xzf "tampered/hello/blobs/sha256/$layer" -C unpacked
echo "owned" >>unpacked/etc/motd
tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C unpacked -cf - etc srv \
  | gzip -n >"tampered/hello/blobs/sha256/$layer"
verify_run tamper ../tampered/hello --provenance ../out/hello.provenance.json --vsa ../failed.json
expect_eq "tampered layer blob fails (exit 1)" 1 "$rc"
expect_in "names the layer" tamper.out "layer 1"
expect_in "names the file" tamper.out "etc/motd: content"
expect_in "says the blob does not match its descriptor" tamper.out "does not match its descriptor"
expect_in "the compare check failed" tamper.err "FAIL compare"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["predicate"]; assert p["verificationResult"]=="FAILED" and p["verifiedLevels"]==["FAILED"], p' failed.json \
  && pass "VSA of a failed verification says FAILED" || fail "VSA of a failed verification says FAILED"

# ------------------------------------------------------------------ changed spec, changed input
cp -r proj proj-copy
echo "# a comment changes the bytes" >>proj/strata.yaml
verify_run spec ../out/hello --provenance ../out/hello.provenance.json
expect_eq "changed spec fails (exit 1)" 1 "$rc"
expect_in "reported as a spec digest mismatch" spec.err "spec digest mismatch: expected"
verify_run spec_flag ../out/hello --provenance ../out/hello.provenance.json --spec ../proj-copy/strata.yaml
expect_eq "--spec: the unchanged spec elsewhere verifies (exit 0)" 0 "$rc"
cp proj-copy/strata.yaml proj/strata.yaml
echo "changed" >>proj/files/motd
verify_run input ../out/hello --provenance ../out/hello.provenance.json
expect_eq "changed input file fails (exit 1)" 1 "$rc"
expect_in "names the input file" input.err "files/motd: digest mismatch"
rm -rf proj

# ------------------------------------------------------------------ a source behind a URL
probe_sandbox  # from here on c-hello: package builds
if [[ -n "$SANDBOX_SKIP" ]]; then
  echo "SKIP: package image verification: $SANDBOX_SKIP"
  exit 0
fi
mkdir srv proj
cp "$SOURCE_DIR/examples/c-hello/hello-1.0.tar.gz" srv/
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory srv >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/hello-1.0.tar.gz" -o /dev/null && break; sleep 0.1; done
sed -e "s|    path: hello-1.0.tar.gz|    url: http://127.0.0.1:$port/hello-1.0.tar.gz|" \
  "$SOURCE_DIR/examples/c-hello/strata.yaml" >proj/strata.yaml
(cd proj && "$STRATA" build strata.yaml -o ../out --cache ../cache-build 2>>"$WORK/build.log" >/dev/null)
(cd proj && "$STRATA" build strata.yaml -o ../out2 --cache ../cache-other 2>>"$WORK/build.log" >/dev/null)
cmp out/c-hello.provenance.json out2/c-hello.provenance.json \
  && pass "provenance of a package build is byte-identical across caches (no cache paths)" || fail "provenance of a package build is byte-identical across caches (no cache paths)"
verify_run url ../out/c-hello --provenance ../out/c-hello.provenance.json --cache ../cache-verify
expect_eq "package image verifies, source fetched from its recorded URL (exit 0)" 0 "$rc"
expect_in "every package rebuilt" url.err "ok   rebuild:"

# Rebuilding packages as uid 65534 needs unprivileged user namespaces, which root's do not prove.
probe_nobody
[[ -n "$NOBODY_SKIP" ]] || { probe_sandbox as_nobody; NOBODY_SKIP=$SANDBOX_SKIP; }
if [[ -z "$NOBODY_SKIP" ]]; then
  mkdir nobody-cache && chown 65534:65534 nobody-cache
  rc=0
  (cd proj && as_nobody env HOME=/nonexistent \
    "$STRATA" verify ../out/c-hello --provenance ../out/c-hello.provenance.json \
    --cache ../nobody-cache >../nobody.out 2>../nobody.err) || rc=$?
  [[ $rc -eq 0 ]] || cat nobody.err >&2
  expect_eq "verifies as uid 65534 (unprivileged sandbox)" 0 "$rc"
else
  echo "SKIP: verify as uid 65534: $NOBODY_SKIP"
fi

# The server now serves other bytes under the same URL.
printf 'not the pinned tarball' >srv/hello-1.0.tar.gz
verify_run moved ../out/c-hello --provenance ../out/c-hello.provenance.json --cache ../cache-moved
expect_eq "source changed behind its URL fails (exit 1)" 1 "$rc"
expect_in "reported as a digest mismatch with expected and actual" moved.err "digest mismatch"
expect_in "names the source" moved.err "hello-src"
verify_run cached ../out/c-hello --provenance ../out/c-hello.provenance.json --cache ../cache-verify --offline
expect_eq "the verified store still serves it offline (exit 0)" 0 "$rc"
