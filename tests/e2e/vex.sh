#!/usr/bin/env bash
# OpenVEX from the spec (docs/vex.md) and Sigstore bundles (docs/signing.md): the document
# validates against the official schema, names the image and packages by the SBOM's purls
# and is byte-identical across builds; every bad statement is a located error and writes
# nothing; the signed VEX verifies; --attach and strata push store it as a referrer of the
# image; sigstore-js (the reference verifier, tests/package.json) verifies the bundle with
# the public key alone, and a changed byte fails there and in `strata attest verify`.
source "$(dirname "$0")/lib/e2e.sh"
source "$E2E_DIR/lib/registry.sh"

VALIDATE="$SOURCE_DIR/tests/tools/validate_json_schema.py"
SIGSTORE_JS="$SOURCE_DIR/tests/tools/sigstore_verify.cjs"
cd "$WORK"

"$STRATA" keygen --type ed25519 -o ed >/dev/null 2>&1
"$STRATA" keygen --type ecdsa-p256 -o ec >/dev/null 2>&1

# ------------------------------------------------------------------ the spec
# Statements in a file beside the spec; with a working sandbox, also about a built package.
probe_sandbox
mkdir -p spec/files
echo hello >spec/files/motd
write_spec() {  # write_spec [with-package]
  {
    cat <<'EOF'
apiVersion: strata/v1
name: vexed
version: "1.0"
epoch: 1700000000
EOF
    if [[ ${1:-} == with-package ]]; then
      cat <<'EOF'
packages:
  - name: tool
    version: "2.1"
    steps: ['mkdir -p "$DESTDIR/usr/bin" && echo tool >"$DESTDIR/usr/bin/tool"']
EOF
    fi
    cat <<'EOF'
image:
  layers:
    - files: [{src: files/motd, dest: /etc/motd}]
EOF
    [[ ${1:-} == with-package ]] && echo "    - packages: [tool]"
    cat <<'EOF'
  annotations: {org.opencontainers.image.authors: "Example Security <security@example.com>"}
vex: vex.yaml
EOF
  } >spec/strata.yaml
}
cat >spec/vex.yaml <<'EOF'
- vulnerability: CVE-2024-3094
  aliases: [GHSA-rxwq-x6h5-x525]
  status: not_affected
  justification: component_not_present
  impact_statement: the image ships no liblzma
- vulnerability: GHSA-jfh8-c2jp-5v3q
  status: under_investigation
- {vulnerability: CVE-2023-0001, status: affected, action_statement: rebuild on the fixed base}
EOF
if [[ -z $SANDBOX_SKIP ]]; then
  write_spec with-package
  echo "- {vulnerability: CVE-2023-44487, packages: [tool], status: fixed}" >>spec/vex.yaml
else
  echo "note: $SANDBOX_SKIP: the statement about a built package is left out"
  write_spec
fi

# ------------------------------------------------------------------ builds
d1=$(build_digest spec/strata.yaml a --sign-key "$WORK/ed.key")
d2=$(build_digest spec/strata.yaml b --sign-key "$WORK/ed.key")
expect_eq "same image digest twice" "$d1" "$d2"
for f in vexed.openvex.json vexed.openvex.dsse.json vexed.sigstore.json; do
  cmp "a/$f" "b/$f" && pass "$f byte-identical across builds" || fail "$f byte-identical across builds"
done
build_digest spec/strata.yaml u >/dev/null
cmp a/vexed.openvex.json u/vexed.openvex.json && pass "signing does not change the document" ||
  fail "signing does not change the document"
[[ ! -e u/vexed.openvex.dsse.json && ! -e u/vexed.sigstore.json ]] &&
  pass "no envelope and no bundle without --sign-key" || fail "no envelope and no bundle without --sign-key"

out=$(python3 "$VALIDATE" openvex_json_schema.json a/vexed.openvex.json 2>&1) || fail "OpenVEX schema: $out"
pass "OpenVEX v0.2.0 schema"

python3 - a/vexed.openvex.json a/vexed.spdx.json "$d1" <<'PY' && pass "OpenVEX: canonical, the epoch, the SBOM's purls" || fail "OpenVEX: canonical, the epoch, the SBOM's purls"
import hashlib, json, sys
raw = open(sys.argv[1], "rb").read()
v = json.loads(raw)
assert raw == json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), "not canonical JSON"
sbom = json.load(open(sys.argv[2]))
hexd = sys.argv[3].removeprefix("sha256:")
assert v["@context"] == "https://openvex.dev/ns/v0.2.0"
assert v["timestamp"] == "2023-11-14T22:13:20Z", v["timestamp"]
assert v["author"] == "Example Security <security@example.com>"
without = {k: x for k, x in v.items() if k != "@id"}
digest = hashlib.sha256(json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
assert v["@id"] == f"https://strata.dev/vex/vexed/sha256-{digest}", v["@id"]
purls = {p["name"]: r["referenceLocator"] for p in sbom["packages"] for r in p.get("externalRefs", [])
         if r["referenceType"] == "purl"}
image = purls["vexed"]
assert hexd in image, image
names = [s["vulnerability"]["name"] for s in v["statements"]]
assert names[:3] == ["CVE-2024-3094", "GHSA-jfh8-c2jp-5v3q", "CVE-2023-0001"], names
for s in v["statements"]:
    assert [p["@id"] for p in s["products"]] == [image], s["products"]
    assert s["products"][0]["hashes"] == {"sha-256": hexd}
s0 = v["statements"][0]
assert s0["vulnerability"]["aliases"] == ["GHSA-rxwq-x6h5-x525"]
assert (s0["status"], s0["justification"]) == ("not_affected", "component_not_present")
assert v["statements"][2]["action_statement"] == "rebuild on the fixed base"
if len(names) == 4:
    sub = v["statements"][3]["products"][0]["subcomponents"]
    assert [c["@id"] for c in sub] == [purls["tool"]] == ["pkg:generic/tool@2.1"], sub
PY

# ------------------------------------------------------------------ the signed VEX
"$STRATA" attest verify a/vexed.openvex.dsse.json --key ed.pub --image a/vexed >verify.out 2>verify.err ||
  { cat verify.err; fail "strata attest verify the OpenVEX envelope"; }
grep -qx "statement: ok (https://openvex.dev/ns/v0.2.0)" verify.out || { cat verify.out; fail "VEX predicateType"; }
pass "the signed OpenVEX statement verifies, its subject the image"

# The policy rule knownVulnerabilities (docs/policy.md) over the VEX strata wrote: the signed
# not_affected statement suppresses CVE-2024-3094; an affected one does not; the same VEX
# without its envelope (u/, built without --sign-key) does not count.
cat >policy.yaml <<'EOF'
apiVersion: strata.dev/policy/v1
rules:
  knownVulnerabilities:
    ids: [CVE-2024-3094]
EOF
"$STRATA" policy check a/vexed --policy policy.yaml --key ed.pub >policy.out 2>&1 ||
  { cat policy.out; fail "policy: the signed VEX suppresses CVE-2024-3094"; }
pass "policy check: strata's signed VEX suppresses CVE-2024-3094"
sed -i 's/CVE-2024-3094]/CVE-2024-3094, CVE-2023-0001]/' policy.yaml
rc=0
"$STRATA" policy check a/vexed --policy policy.yaml --key ed.pub >policy.out 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q "CVE-2023-0001: affected" policy.out ||
  { cat policy.out; fail "policy: an affected CVE fails (rc $rc)"; }
pass "policy check: a CVE the VEX marks affected fails the rule"
sed -i 's/, CVE-2023-0001]/]/' policy.yaml
rc=0
"$STRATA" policy check u/vexed --policy policy.yaml --key ed.pub >policy.out 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q "unsigned" policy.out ||
  { cat policy.out; fail "policy: an unsigned VEX does not count (rc $rc)"; }
pass "policy check: the same VEX unsigned does not count"
python3 - a/vexed.openvex.dsse.json a/vexed.openvex.json a/vexed.provenance.json <<'PY' && pass "envelope payload: in-toto Statement, predicate = the document, subject = the provenance's" || fail "envelope payload"
import base64, json, sys
e = json.load(open(sys.argv[1]))
assert e["payloadType"] == "application/vnd.in-toto+json"
s = json.loads(base64.b64decode(e["payload"]))
assert s["_type"] == "https://in-toto.io/Statement/v1"
assert s["predicateType"] == "https://openvex.dev/ns/v0.2.0"
assert s["predicate"] == json.load(open(sys.argv[2]))
assert s["subject"] == json.load(open(sys.argv[3]))["subject"], s["subject"]
PY

# ------------------------------------------------------------------ --attach: referrers
build_digest spec/strata.yaml c --sign-key "$WORK/ed.key" --attach >/dev/null
build_digest spec/strata.yaml d --attach >/dev/null
# check_vex_referrer LAYOUT TYPE FILE: index.json lists an artifact of TYPE whose manifest's
# subject is the image and whose one layer is FILE's bytes; prints the manifest digest.
check_vex_referrer() {
  python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, sys
layout, kind, path = sys.argv[1:]
idx = json.load(open(f"{layout}/index.json"))
image = [m for m in idx["manifests"] if "artifactType" not in m][0]
arts = [m for m in idx["manifests"] if m.get("artifactType") == kind]
assert len(arts) == 1, [m.get("artifactType") for m in idx["manifests"]]
blob = lambda d: open(f"{layout}/blobs/sha256/{d.split(':')[1]}", "rb").read()
m = json.loads(blob(arts[0]["digest"]))
assert m["artifactType"] == kind and m["subject"]["digest"] == image["digest"], m
assert len(m["layers"]) == 1 and m["layers"][0]["mediaType"] == kind
assert blob(m["layers"][0]["digest"]) == open(path, "rb").read(), "layer is not the file"
assert m["layers"][0]["annotations"]["org.opencontainers.image.title"] == path.rsplit("/", 1)[1]
print(arts[0]["digest"])
PY
}
signed_ref=$(check_vex_referrer c/vexed application/vnd.in-toto.openvex+dsse c/vexed.openvex.dsse.json) ||
  fail "--attach --sign-key: the OpenVEX envelope is a referrer"
pass "--attach --sign-key: the OpenVEX envelope is a referrer of the image"
check_vex_referrer d/vexed application/openvex+json d/vexed.openvex.json >/dev/null ||
  fail "--attach: the OpenVEX document is a referrer"
pass "--attach: the unsigned OpenVEX document is a referrer of the image"
python3 -c 'import json,sys; t=[m.get("artifactType") for m in json.load(open(sys.argv[1]))["manifests"]]; assert "application/openvex+json" not in t and "application/vnd.dev.sigstore.bundle.v0.3+json" not in t, t' c/vexed/index.json ||
  fail "--attach --sign-key attaches the envelope only"
pass "--attach --sign-key attaches the envelope, not the document or the bundle"
if command -v skopeo >/dev/null; then
  skopeo inspect "oci:c/vexed:1.0" >/dev/null 2>skopeo.err || { cat skopeo.err; fail "skopeo reads the attached layout"; }
  pass "skopeo still reads the image of the attached layout"
fi

# ------------------------------------------------------------------ strata push: referrers
if command -v docker-registry >/dev/null; then
  start_registry plain
  reg="127.0.0.1:$REG_PORT"
  "$STRATA" push a/vexed "docker://$reg/vex/vexed" >push.out 2>push.err || { cat push.err; fail "strata push"; }
  "$STRATA" referrers "docker://$reg/vex/vexed@$d1" --json >referrers.json 2>referrers.err ||
    { cat referrers.err; fail "strata referrers"; }
  python3 - referrers.json "$signed_ref" <<'PY' && pass "strata push: the OpenVEX envelope is a referrer, the manifest --attach writes" || fail "strata push: the OpenVEX envelope as referrer"
import json, sys
idx = json.load(open(sys.argv[1]))
vex = [m["digest"] for m in idx["manifests"] if m.get("artifactType") == "application/vnd.in-toto.openvex+dsse"]
assert vex == [sys.argv[2]], (vex, sys.argv[2])
PY
  "$STRATA" push u/vexed "docker://$reg/vex/plain" >push.out 2>push.err || { cat push.err; fail "strata push (unsigned)"; }
  d_ref=$(check_vex_referrer d/vexed application/openvex+json d/vexed.openvex.json)
  "$STRATA" referrers "docker://$reg/vex/plain@$d1" --artifact-type application/openvex+json --json >plain.json ||
    fail "strata referrers (unsigned)"
  python3 -c 'import json,sys; assert [m["digest"] for m in json.load(open(sys.argv[1]))["manifests"]] == [sys.argv[2]]' plain.json "$d_ref" ||
    fail "strata push: the unsigned OpenVEX document is a referrer"
  pass "strata push: the unsigned OpenVEX document is a referrer, the manifest --attach writes"
else
  echo "note: docker-registry is not installed: the push checks are left out"
fi

# ------------------------------------------------------------------ Sigstore bundles
build_digest spec/strata.yaml e --sign-key "$WORK/ec.key" >/dev/null
python3 - a/vexed.sigstore.json a/vexed.provenance.dsse.json ed.pub <<'PY' && pass "bundle: v0.3, the provenance envelope, the key hint, no tlog" || fail "bundle shape"
import json, subprocess, sys
b = json.load(open(sys.argv[1]))
assert b["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
assert b["dsseEnvelope"] == json.load(open(sys.argv[2]))
der = subprocess.run(["openssl", "pkey", "-pubin", "-in", sys.argv[3], "-outform", "DER"], capture_output=True, check=True).stdout
import hashlib
assert b["verificationMaterial"] == {"publicKey": {"hint": hashlib.sha256(der).hexdigest()}}, b["verificationMaterial"]
PY
for k in ed ec; do
  dir=a; [[ $k == ec ]] && dir=e
  "$STRATA" attest verify $dir/vexed.sigstore.json --key $k.pub --image $dir/vexed >out 2>err ||
    { cat err; fail "strata attest verify the $k bundle"; }
  grep -q "^bundle: application/vnd.dev.sigstore.bundle.v0.3+json" out || { cat out; fail "bundle line"; }
  pass "strata attest verify accepts the $k bundle"
done
# tamper IN OUT FIELD: one byte of the payload or of the signature changed (decoded, then
# base64 again, so the bundle stays well-formed).
tamper() {
  python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
env = b["dsseEnvelope"]
if sys.argv[3] == "payload":
    raw = bytearray(base64.b64decode(env["payload"])); raw[len(raw) // 2] ^= 0x01
    env["payload"] = base64.b64encode(bytes(raw)).decode()
else:
    raw = bytearray(base64.b64decode(env["signatures"][0]["sig"])); raw[-1] ^= 0x01
    env["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
json.dump(b, open(sys.argv[2], "w"), separators=(",", ":"), sort_keys=True)
PY
}
for k in ed ec; do
  dir=a; [[ $k == ec ]] && dir=e
  for field in payload sig; do
    tamper $dir/vexed.sigstore.json $k-$field.json $field
    rc=0; "$STRATA" attest verify $k-$field.json --key $k.pub >out 2>err || rc=$?
    expect_eq "strata attest verify rejects the $k bundle with a changed $field byte (exit 1)" 1 "$rc"
    grep -q "signature check failed" err || { cat err; fail "the message names the signature check"; }
  done
done

if ! command -v node >/dev/null; then
  echo "SKIP (sigstore-js): node is not installed (.ci/install-deps installs it)"
elif [[ ! -d $SOURCE_DIR/tests/node_modules/@sigstore/verify ]]; then
  echo "SKIP (sigstore-js): tests/node_modules has no @sigstore/verify (run .ci/install-deps)"
else
  for k in ed ec; do
    dir=a; [[ $k == ec ]] && dir=e
    node "$SIGSTORE_JS" $dir/vexed.sigstore.json $k.pub >out 2>err || { cat out err; fail "sigstore-js verifies the $k bundle"; }
    pass "sigstore-js verifies the $k bundle with the public key and no tlog, CT log or TSA"
    for field in payload sig; do
      rc=0; node "$SIGSTORE_JS" $k-$field.json $k.pub >out 2>err || rc=$?
      expect_eq "sigstore-js rejects the $k bundle with a changed $field byte (exit 1)" 1 "$rc"
      grep -q "SIGNATURE_ERROR" err || { cat err; fail "sigstore-js names the signature"; }
    done
  done
  rc=0; node "$SIGSTORE_JS" a/vexed.sigstore.json ec.pub >out 2>err || rc=$?
  expect_eq "sigstore-js rejects the bundle under another key (exit 1)" 1 "$rc"
fi

# ------------------------------------------------------------------ bad statements
# Each bad VEX file: `strata validate` and `strata build` exit 2 with the located error, and
# the build writes nothing.
bad() {  # bad NAME EXPECTED-LINE (the statements on stdin replace vex.yaml)
  local name=$1 expected=$2
  mkdir -p "bad/$name/files"
  cp spec/strata.yaml "bad/$name/"
  cp spec/files/motd "bad/$name/files/"
  cat >"bad/$name/vex.yaml"
  expect_spec_error "$name" "bad/$name/strata.yaml" "bad/$name/out" "$expected"
  [[ ! -e bad/$name/out ]] || fail "$name: the build wrote $(ls bad/$name/out)"
  pass "bad statement ($name): located error, nothing written"
}
bad unknown-package "bad/unknown-package/vex.yaml:1:60: error: unknown package 'nope'" <<'EOF'
- {vulnerability: CVE-2024-3094, status: fixed, packages: [nope]}
EOF
bad missing-justification "bad/missing-justification/vex.yaml:2:11: error: status 'not_affected' needs a justification or an impact_statement saying why (OpenVEX v0.2.0)" <<'EOF'
- vulnerability: CVE-2024-3094
  status: not_affected
EOF
bad missing-action "bad/missing-action/vex.yaml:1:42: error: status 'affected' needs an action_statement saying what users should do (OpenVEX v0.2.0)" <<'EOF'
- {vulnerability: CVE-2024-3094, status: affected}
EOF
bad bad-id "bad/bad-id/vex.yaml:1:18: error: 'CVE-24-3094' is not a vulnerability id (expected CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or an OSV id such as PYSEC-2024-1)" <<'EOF'
- vulnerability: CVE-24-3094
  status: fixed
EOF
bad unknown-key "bad/unknown-key/vex.yaml:3:3: error: unknown key 'severity'" <<'EOF'
- vulnerability: CVE-2024-3094
  status: fixed
  severity: high
EOF
bad bad-justification "bad/bad-justification/vex.yaml:3:18: error: 'not_reachable' is not a valid justification (expected component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary or inline_mitigations_already_exist)" <<'EOF'
- vulnerability: CVE-2024-3094
  status: not_affected
  justification: not_reachable
EOF
# Inline in the spec, the spec's own location.
mkdir -p bad/inline/files && cp spec/files/motd bad/inline/files/
sed 's/^vex: vex.yaml$/vex:\n  - {vulnerability: CVE-2024-3094, status: fixd}/' spec/strata.yaml >bad/inline/strata.yaml
line=$(grep -n "status: fixd" bad/inline/strata.yaml | cut -d: -f1)
expect_spec_error inline bad/inline/strata.yaml bad/inline/out \
  "bad/inline/strata.yaml:$line:44: error: 'fixd' is not a valid status (expected not_affected, affected, fixed or under_investigation); did you mean 'fixed'?"
[[ ! -e bad/inline/out ]] || fail "inline: the build wrote output"
pass "bad inline statement: located error, nothing written"

# ------------------------------------------------------------------ no statements, no VEX
# A later build of the spec without `vex:` into the same directory leaves no stale document.
sed -i '/^vex: vex.yaml$/d' spec/strata.yaml
build_digest spec/strata.yaml u >/dev/null
[[ ! -e u/vexed.openvex.json ]] && pass "a build without vex: removes the stale NAME.openvex.json" ||
  fail "a build without vex: removes the stale NAME.openvex.json"
