#!/usr/bin/env bash
# Attestations: provenance (in-toto/SLSA v1), SBOM (SPDX 2.3, CycloneDX 1.6) and DSSE
# signatures for examples/hello. Signatures are checked by the openssl command-line tool over
# a PAE rebuilt here; tampering must make `strata attest verify` fail and say which check;
# two builds give byte-identical provenance (and Ed25519 envelope); --attach keeps the layout
# readable by skopeo, umoci and podman.
source "$(dirname "$0")/lib/e2e.sh"

SPEC="$SOURCE_DIR/examples/hello/strata.yaml"
VALIDATE="$SOURCE_DIR/tests/tools/validate_json_schema.py"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }
cd "$WORK"

# ------------------------------------------------------------------ keys
"$STRATA" keygen --type ed25519 -o ed >/dev/null 2>&1
"$STRATA" keygen --type ecdsa-p256 -o ec >/dev/null 2>&1
expect_eq "keygen: private key mode" "600" "$(stat -c %a ed.key)"
expect_eq "keygen: public key mode" "644" "$(stat -c %a ed.pub)"
openssl pkey -in ed.key -noout && openssl pkey -in ec.key -noout && pass "keygen keys parse with openssl" || fail "keygen keys parse with openssl"
rc=0; "$STRATA" keygen --type ed25519 -o ed >/dev/null 2>&1 || rc=$?
expect_eq "keygen refuses to overwrite a key (exit 2)" 2 "$rc"
rc=0; "$STRATA" keygen --type rsa -o rsa >/dev/null 2>&1 || rc=$?
expect_eq "keygen rejects an unknown type (exit 2)" 2 "$rc"
# Keys made by openssl itself work too (docs/signing.md gives these commands).
openssl genpkey -algorithm ed25519 -out ossl.key 2>/dev/null
openssl pkey -in ossl.key -pubout -out ossl.pub

# ------------------------------------------------------------------ builds
build() {  # build OUT [ARGS...]: prints the manifest digest
  local out=$1
  shift
  (cd "$SOURCE_DIR" && "$STRATA" build examples/hello/strata.yaml -o "$WORK/$out" "$@" 2>>"$WORK/build.log" | tail -n 1)
}
d1=$(build a --sign-key "$WORK/ed.key")
d2=$(build b --sign-key "$WORK/ed.key")
expect_eq "same image digest twice" "$d1" "$d2"
expect_eq "golden digest unchanged by attestations" "$(golden hello.digest)" "$d1"
cmp a/hello.provenance.json b/hello.provenance.json && pass "provenance byte-identical across builds" || fail "provenance byte-identical across builds"
cmp a/hello.provenance.dsse.json b/hello.provenance.dsse.json && pass "Ed25519 envelope byte-identical across builds" || fail "Ed25519 envelope byte-identical across builds"
cmp a/hello.spdx.json b/hello.spdx.json && pass "SPDX byte-identical across builds" || fail "SPDX byte-identical across builds"
build c --sign-key "$WORK/ec.key" >/dev/null
build t --provenance-times >/dev/null
[[ ! -e t/hello.provenance.dsse.json ]] && pass "no envelope without --sign-key" || fail "no envelope without --sign-key"

# ------------------------------------------------------------------ provenance constraints
python3 - a/hello.provenance.json t/hello.provenance.json "$d1" <<'PY' && pass "provenance: in-toto/SLSA v1 constraints" || fail "provenance: in-toto/SLSA v1 constraints"
import json, re, sys
s = json.load(open(sys.argv[1]))
raw = open(sys.argv[1], "rb").read()
assert raw == json.dumps(s, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), "not canonical JSON"
assert s["_type"] == "https://in-toto.io/Statement/v1"
assert s["predicateType"] == "https://slsa.dev/provenance/v1"
assert s["subject"] == [{"name": "hello", "digest": {"sha256": sys.argv[3].removeprefix("sha256:")}}], s["subject"]
bd, rd = s["predicate"]["buildDefinition"], s["predicate"]["runDetails"]
assert bd["buildType"] == "https://strata.dev/buildtypes/image/v1"
assert bd["externalParameters"]["spec"]["path"] == "examples/hello/strata.yaml"
assert bd["internalParameters"]["determinismProfile"] == "strata-det/2"
assert bd["internalParameters"]["SOURCE_DATE_EPOCH"] == "1700000000"
roles = [d["annotations"]["role"] for d in bd["resolvedDependencies"]]
assert roles[0] == "spec" and roles[-1] == "builder-binary" and roles.count("input-file") == 3, roles
for d in bd["resolvedDependencies"]:
    assert re.fullmatch(r"[0-9a-f]{64}", d["digest"]["sha256"]), d
assert rd["builder"]["id"] == "https://strata.dev/builder/local/v1"
assert "metadata" not in rd, "wall-clock times without --provenance-times"
t = json.load(open(sys.argv[2]))["predicate"]["runDetails"]["metadata"]
for k in ("startedOn", "finishedOn"):
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", t[k]), t
PY

# ------------------------------------------------------------------ SBOM schemas
# (the schemas are vendored in tests/schemas: these never skip)
out=$(python3 "$VALIDATE" spdx-schema.json a/hello.spdx.json 2>&1) || fail "SPDX schema: $out"
pass "SPDX 2.3 schema"
build x --sbom-format cyclonedx >/dev/null
out=$(python3 "$VALIDATE" bom-1.6.schema.json x/hello.cdx.json 2>&1) || fail "CycloneDX schema: $out"
pass "CycloneDX 1.6 schema"
python3 - a/hello.spdx.json "$d1" <<'PY' && pass "SPDX: every file with its sha256, synthesized ones too" || fail "SPDX: every file with its sha256, synthesized ones too"
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(f["fileName"] for f in d["files"])
assert names == ["./etc/group", "./etc/hostname", "./etc/motd", "./etc/passwd",
                 "./srv/www/css/site.css", "./srv/www/index.html"], names
assert d["documentNamespace"].endswith("/hello/sha256-" + sys.argv[2].removeprefix("sha256:"))
assert d["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
assert len({f["SPDXID"] for f in d["files"]}) == len(d["files"])
PY

# ------------------------------------------------------------------ DSSE, checked by openssl
# verify_with_openssl ENVELOPE PUB: rebuild PAE from the envelope, verify the signature.
verify_with_openssl() {
  local env=$1 pub=$2 dir
  dir=$(mktemp -d "$WORK/ossl.XXXXXX")
  python3 - "$env" "$dir" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
body = base64.b64decode(e["payload"])
t = e["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
open(sys.argv[2] + "/pae", "wb").write(pae)
open(sys.argv[2] + "/sig", "wb").write(base64.b64decode(e["signatures"][0]["sig"]))
PY
  if openssl pkey -pubin -in "$pub" -noout -text 2>/dev/null | grep -q ED25519; then
    openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$dir/pae" -sigfile "$dir/sig" >/dev/null
  else
    openssl dgst -sha256 -verify "$pub" -signature "$dir/sig" "$dir/pae" >/dev/null
  fi
}
verify_with_openssl a/hello.provenance.dsse.json ed.pub && pass "openssl verifies the Ed25519 envelope" || fail "openssl verifies the Ed25519 envelope"
verify_with_openssl c/hello.provenance.dsse.json ec.pub && pass "openssl verifies the ECDSA P-256 envelope" || fail "openssl verifies the ECDSA P-256 envelope"
! verify_with_openssl c/hello.provenance.dsse.json ed.pub 2>/dev/null && pass "openssl rejects the wrong key" || fail "openssl rejects the wrong key"
python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["payload"]).decode(), end="")' \
  a/hello.provenance.dsse.json | cmp - a/hello.provenance.json && pass "envelope payload is the provenance file" || fail "envelope payload is the provenance file"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signatures"][0]["keyid"])' a/hello.provenance.dsse.json >keyid
expect_eq "keyid = sha256 of the DER SubjectPublicKeyInfo" \
  "$(openssl pkey -pubin -in ed.pub -outform DER | sha256sum | cut -d' ' -f1)" "$(cat keyid)"

# ------------------------------------------------------------------ strata attest verify
for k in ed ec; do
  dir=a; [[ $k == ec ]] && dir=c
  "$STRATA" attest verify $dir/hello.provenance.dsse.json --key $k.pub --image $dir/hello >/dev/null \
    && pass "attest verify ($k) with --image" || fail "attest verify ($k) with --image"
done
"$STRATA" attest verify a/hello.provenance.dsse.json --key ed.pub --image "$WORK/a/hello:1.0" >/dev/null \
  && pass "attest verify with IMAGE:TAG" || fail "attest verify with IMAGE:TAG"

# expect_verify_fails WHAT EXPECTED_MESSAGE_PART ARGS...: exit 1 and the message names the check.
expect_verify_fails() {
  local what=$1 want=$2 rc=0 err
  shift 2
  err=$("$STRATA" attest verify "$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq 1 ]] || fail "$what: expected exit 1, got $rc: $err"
  [[ "$err" == *"$want"* ]] || fail "$what: message lacks '$want': $err"
  pass "$what fails: ${err#strata: error: }"
}
tamper() {  # tamper IN OUT PYTHON-EXPR-ON-e
  python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
b64d, b64e = base64.b64decode, lambda b: base64.b64encode(b).decode()
exec(sys.argv[3])
json.dump(e, open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)
PY
}
tamper a/hello.provenance.dsse.json t-payload.json \
  'p = bytearray(b64d(e["payload"])); p[p.index(b"strata-det/2")] ^= 1; e["payload"] = b64e(bytes(p))'
expect_verify_fails "a changed payload byte" "signature check failed" t-payload.json --key ed.pub
tamper a/hello.provenance.dsse.json t-sig.json \
  's = bytearray(b64d(e["signatures"][0]["sig"])); s[10] ^= 1; e["signatures"][0]["sig"] = b64e(bytes(s))'
expect_verify_fails "a changed signature byte" "signature check failed" t-sig.json --key ed.pub
expect_verify_fails "the wrong key" "signature check failed" a/hello.provenance.dsse.json --key ec.pub
expect_verify_fails "an openssl key that did not sign" "signature check failed" a/hello.provenance.dsse.json --key ossl.pub
tamper a/hello.provenance.dsse.json t-type.json 'e["payloadType"] = "application/json"'
expect_verify_fails "another payloadType (unsigned)" "payloadType is 'application/json'" t-type.json --key ed.pub
# The same statement properly signed under another payloadType (openssl signs the PAE).
python3 - a/hello.provenance.dsse.json pae-other <<'PY'
import base64, json, sys
body = base64.b64decode(json.load(open(sys.argv[1]))["payload"])
t = b"application/json"
open(sys.argv[2], "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body))
PY
openssl pkeyutl -sign -inkey ed.key -rawin -in pae-other -out sig-other
tamper a/hello.provenance.dsse.json t-type-signed.json \
  'e["payloadType"] = "application/json"; e["signatures"][0]["sig"] = b64e(open("sig-other", "rb").read())'
expect_verify_fails "another payloadType (signed)" \
  "payloadType check failed: expected 'application/vnd.in-toto+json', got 'application/json'" \
  t-type-signed.json --key ed.pub
# Another subject digest, re-signed so only the subject check can catch it.
python3 - a/hello.provenance.json stmt-other <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["subject"][0]["digest"]["sha256"] = "0" * 64
open(sys.argv[2], "w").write(json.dumps(s, sort_keys=True, separators=(",", ":")))
PY
python3 - stmt-other pae-subject <<'PY'
import sys
body = open(sys.argv[1], "rb").read()
t = b"application/vnd.in-toto+json"
open(sys.argv[2], "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body))
PY
openssl pkeyutl -sign -inkey ed.key -rawin -in pae-subject -out sig-subject
tamper a/hello.provenance.dsse.json t-subject.json \
  'e["payload"] = b64e(open("stmt-other", "rb").read()); e["signatures"][0]["sig"] = b64e(open("sig-subject", "rb").read())'
"$STRATA" attest verify t-subject.json --key ed.pub >/dev/null && pass "re-signed statement alone verifies" || fail "re-signed statement alone verifies"
expect_verify_fails "another subject digest" \
  "subject check failed: expected $d1 (manifest of a/hello), actual sha256:$(printf '0%.0s' {1..64})" \
  t-subject.json --key ed.pub --image a/hello
rc=0; "$STRATA" attest verify a/hello.provenance.dsse.json >/dev/null 2>&1 || rc=$?
expect_eq "attest verify without --key is a usage error" 2 "$rc"
rc=0; "$STRATA" attest verify a/hello.provenance.dsse.json --key ed.key >/dev/null 2>&1 || rc=$?
expect_eq "a private key as --key is a usage error" 2 "$rc"
rc=0; (cd "$SOURCE_DIR" && "$STRATA" build examples/hello/strata.yaml -o "$WORK/bad" --sign-key "$WORK/ed.pub" >/dev/null 2>&1) || rc=$?
expect_eq "build with a public key as --sign-key: exit 2" 2 "$rc"
[[ ! -e bad ]] && pass "a bad --sign-key writes nothing" || fail "a bad --sign-key writes nothing"

# ------------------------------------------------------------------ --attach and real clients
da=$(build att --sign-key "$WORK/ed.key" --attach --archive)
expect_eq "--attach leaves the image digest alone" "$d1" "$da"
python3 - att/hello/index.json <<'PY' && pass "index.json lists the artifacts, without ref.name" || fail "index.json lists the artifacts, without ref.name"
import json, sys
m = json.load(open(sys.argv[1]))["manifests"]
assert [x.get("artifactType") for x in m] == [None, "application/vnd.in-toto.provenance+dsse", "application/spdx+json"], m
assert all("annotations" not in x for x in m[1:]), m
PY
"$STRATA" inspect att/hello >/dev/null && pass "strata inspect (no tag) ignores the artifacts" || fail "strata inspect (no tag) ignores the artifacts"
"$STRATA" attest verify att/hello.provenance.dsse.json --key ed.pub --image att/hello.tar >/dev/null \
  && pass "attest verify against the archive" || fail "attest verify against the archive"
client_validate_schemas att/hello >/dev/null && pass "OCI schemas (artifact manifests included)" || fail "OCI schemas (artifact manifests included)"
expect_eq "skopeo inspect oci: with artifacts" "$d1" "$(client_skopeo_inspect att/hello 1.0)"
expect_eq "skopeo inspect oci-archive: with artifacts" "$d1" \
  "$(client_skopeo_inspect_archive oci-archive att/hello.tar 1.0)"
client_umoci_unpack att/hello 1.0 bundle >/dev/null && pass "umoci unpack with artifacts" || fail "umoci unpack with artifacts"
rc=0
client_podman_setup "$WORK/podman" || rc=$?
if [[ $rc -eq 77 ]]; then echo "SKIP: podman load"; exit 0; fi
trap 'client_podman_cleanup; rm -rf "$WORK"' EXIT
expect_eq "podman load of the archive with artifacts" "localhost/hello:1.0" \
  "$(client_podman_load att/hello.tar)"
