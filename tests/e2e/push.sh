#!/usr/bin/env bash
# strata push and strata referrers (docs/registries.md "Push", "Referrers") against Debian's
# docker-registry on 127.0.0.1 (Distribution 2.8: no referrers API, so the sha256-<hex> tag
# schema is what strata maintains): skopeo copies back a byte-identical image; the tag index
# lists the provenance and SBOM with artifactType and annotations; a second push uploads
# nothing; two concurrent pushers of different attestations both survive; base layers are
# mounted from the base's repository; chunked uploads give the same blobs; Basic auth; podman
# pulls and runs the pushed image.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"
source "$(dirname "$0")/lib/clients.sh"
require_registry
require_static_busybox
command -v skopeo >/dev/null || skip "skopeo is not installed"

export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME"
ex="$WORK/examples"
mkdir -p "$ex"
cp -r "$SOURCE_DIR/examples/busybox" "$SOURCE_DIR/examples/on-base" "$ex/"
"$STRATA" keygen --type ed25519 -o "$WORK/ed" >/dev/null 2>&1
busybox=$(build_digest "$ex/busybox/strata.yaml" "$ex/out" --sign-key "$WORK/ed.key")
# The same image with the other SBOM format, for the concurrent pushers.
cdx=$(build_digest "$ex/busybox/strata.yaml" "$WORK/cdx-out" --sbom-format cyclonedx)
expect_eq "the SBOM format does not change the image" "$busybox" "$cdx"

start_registry plain
reg="127.0.0.1:$REG_PORT"
hex=${busybox#sha256:}

"$STRATA" push "$ex/out/busybox" "docker://$reg/tools/busybox" >"$WORK/push.out" 2>"$WORK/push.err" ||
  { cat "$WORK/push.err"; fail "strata push"; }
expect_eq "push prints the pin (the image's own tag)" "docker://$reg/tools/busybox:1.35@$busybox" \
  "$(cat "$WORK/push.out")"
grep -q "pushed layer 1 of 2 sha256:" "$WORK/push.err" || { cat "$WORK/push.err"; fail "no log line per blob"; }
grep -q "2 attestations (tag sha256-$hex)" "$WORK/push.err" || { cat "$WORK/push.err"; fail "push summary"; }

# skopeo reads back exactly what strata built.
skopeo copy --quiet --preserve-digests --src-tls-verify=false "docker://$reg/tools/busybox:1.35" \
  "oci:$WORK/copy:1.35" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; fail "skopeo copy back"; }
got=$(skopeo inspect --raw "oci:$WORK/copy:1.35" | sha256sum | cut -d' ' -f1)
expect_eq "skopeo pulls the same manifest" "$hex" "$got"
python3 - "$ex/out/busybox" "$WORK/copy" "$hex" <<'PY'
import json, os, sys
src, dst, hexd = sys.argv[1:]
def blobs(layout, hexd):
    m = json.load(open(f"{layout}/blobs/sha256/{hexd}"))
    names = [hexd, m["config"]["digest"].split(":")[1]] + [l["digest"].split(":")[1] for l in m["layers"]]
    return {n: open(f"{layout}/blobs/sha256/{n}", "rb").read() for n in names}
a, b = blobs(src, hexd), blobs(dst, hexd)
assert a == b, "blobs differ"
PY
pass "skopeo copy of the pushed image is byte-identical"

# The referrers tag: the DSSE provenance and the SBOM, with artifactType and annotations.
skopeo inspect --raw --tls-verify=false "docker://$reg/tools/busybox:sha256-$hex" >"$WORK/referrers.json" ||
  fail "no sha256-<hex> referrers tag"
python3 - "$WORK/referrers.json" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1]))
assert idx["mediaType"] == "application/vnd.oci.image.index.v1+json", idx
types = sorted(m["artifactType"] for m in idx["manifests"])
assert types == ["application/spdx+json", "application/vnd.in-toto.provenance+dsse"], types
for m in idx["manifests"]:
    assert m["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z", m
digests = [m["digest"] for m in idx["manifests"]]
assert digests == sorted(digests), "not sorted by digest"
PY
pass "the referrers tag lists the provenance and SBOM with artifactType and annotations"

# The artifacts are the ones --attach puts in a layout: the same SBOM manifest (the
# provenance differs, as it records the command line, which has --attach).
build_digest "$ex/busybox/strata.yaml" "$WORK/attached" --sign-key "$WORK/ed.key" --attach >/dev/null
python3 - "$WORK/referrers.json" "$WORK/attached/busybox/index.json" <<'PY'
import json, sys
def sboms(path):
    return [m["digest"] for m in json.load(open(path))["manifests"]
            if m.get("artifactType") == "application/spdx+json"]
assert sboms(sys.argv[1]) == sboms(sys.argv[2]) and len(sboms(sys.argv[1])) == 1
PY
pass "a pushed artifact is the manifest --attach writes"

# strata referrers reads the tag schema; --artifact-type filters; --json is an index.
"$STRATA" referrers "docker://$reg/tools/busybox@$busybox" >"$WORK/list" 2>"$WORK/err" ||
  { cat "$WORK/err"; fail "strata referrers"; }
expect_eq "referrers lists two artifacts" 2 "$(wc -l <"$WORK/list")"
grep -q "(tag sha256-$hex)" "$WORK/err" || { cat "$WORK/err"; fail "referrers names the fallback"; }
"$STRATA" referrers "docker://$reg/tools/busybox:1.35" --artifact-type application/spdx+json \
  >"$WORK/list" 2>/dev/null
expect_eq "--artifact-type filters" 1 "$(wc -l <"$WORK/list")"
grep -q "application/spdx+json" "$WORK/list" || fail "the filtered entry"
"$STRATA" referrers "docker://$reg/tools/busybox@$busybox" --json | python3 -c '
import json, sys; idx = json.load(sys.stdin); assert len(idx["manifests"]) == 2, idx' ||
  fail "referrers --json"
pass "strata referrers lists, filters and prints JSON"

# strata pull brings the artifacts along, into the layout's index.json after the image.
"$STRATA" pull "docker://$reg/tools/busybox:1.35" -o "$WORK/pulled" >/dev/null 2>"$WORK/err" ||
  { cat "$WORK/err"; fail "strata pull of the pushed image"; }
grep -q "2 artifacts of the image (its referrers) written to" "$WORK/err" || { cat "$WORK/err"; fail "pull: artifacts"; }
python3 - "$WORK/pulled" "$hex" <<'PY'
import hashlib, json, sys
d, hexd = sys.argv[1:]
idx = json.load(open(d + "/index.json"))
assert idx["manifests"][0]["digest"] == "sha256:" + hexd, idx
arts = idx["manifests"][1:]
assert sorted(a["artifactType"] for a in arts) == ["application/spdx+json", "application/vnd.in-toto.provenance+dsse"], arts
for a in arts:
    m = json.load(open(d + "/blobs/sha256/" + a["digest"].split(":")[1]))
    assert m["subject"]["digest"] == "sha256:" + hexd, m
    for b in [m["config"]] + m["layers"]:
        data = open(d + "/blobs/sha256/" + b["digest"].split(":")[1], "rb").read()
        assert hashlib.sha256(data).hexdigest() == b["digest"].split(":")[1] and len(data) == b["size"]
PY
expect_eq "the pulled layout still names the image" "$hex" \
  "$(skopeo inspect --raw "oci:$WORK/pulled:1.35" | sha256sum | cut -d' ' -f1)"
pass "strata pull writes the image's referrers into the layout"

# A second push uploads nothing and writes no referrers index.
"$STRATA" push "$ex/out/busybox" "docker://$reg/tools/busybox" >/dev/null 2>"$WORK/push2.err" ||
  { cat "$WORK/push2.err"; fail "second push"; }
grep -q ": 0 blobs uploaded (0 B), 7 already there, 0 mounted" "$WORK/push2.err" ||
  { cat "$WORK/push2.err"; fail "a second push uploaded something"; }
! grep -q "^strata: pushed" "$WORK/push2.err" || { cat "$WORK/push2.err"; fail "second push logged an upload"; }
skopeo inspect --raw --tls-verify=false "docker://$reg/tools/busybox:sha256-$hex" | cmp -s - "$WORK/referrers.json" ||
  fail "a second push rewrote the referrers index"
pass "a second push uploads no blob"

# Two pushers of different attestations at once (same image, SPDX and CycloneDX SBOMs, to a
# fresh repository): both sets end up listed.
"$STRATA" push "$ex/out/busybox" "docker://$reg/race/busybox" >/dev/null 2>"$WORK/race1" &
p1=$!
"$STRATA" push "$WORK/cdx-out/busybox" "docker://$reg/race/busybox" >/dev/null 2>"$WORK/race2" &
p2=$!
wait $p1 || { cat "$WORK/race1"; fail "concurrent pusher 1"; }
wait $p2 || { cat "$WORK/race2"; fail "concurrent pusher 2"; }
skopeo inspect --raw --tls-verify=false "docker://$reg/race/busybox:sha256-$hex" | python3 -c '
import json, sys
types = sorted(m["artifactType"] for m in json.load(sys.stdin)["manifests"])
want = ["application/spdx+json", "application/vnd.cyclonedx+json", "application/vnd.in-toto+json",
        "application/vnd.in-toto.provenance+dsse"]
assert types == want, types' || fail "a concurrent update was lost"
pass "two concurrent pushers of different attestations both survive"

# Chunked uploads (PATCH with Content-Range, offsets tracked by strata) give the same blobs.
"$STRATA" push "$ex/out/busybox" "docker://$reg/chunked/busybox:c" --chunk-size 100000 \
  --no-attestations >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; fail "chunked push"; }
skopeo copy --quiet --preserve-digests --src-tls-verify=false "docker://$reg/chunked/busybox:c" \
  "oci:$WORK/chunked:c" >/dev/null 2>&1 || fail "skopeo copy of the chunked push"
expect_eq "chunked push: same manifest" "$hex" \
  "$(skopeo inspect --raw "oci:$WORK/chunked:c" | sha256sum | cut -d' ' -f1)"
if skopeo inspect --raw --tls-verify=false "docker://$reg/chunked/busybox:sha256-$hex" >/dev/null 2>&1; then
  fail "--no-attestations pushed attestations"
fi
pass "chunked upload and --no-attestations"

# An image on a docker:// base from this registry: its base layer is mounted, not uploaded.
sed "s|base: .*|base: docker://$reg/tools/busybox:1.35@$busybox|" "$ex/on-base/strata.yaml" \
  >"$ex/on-base/registry.yaml"
onbase=$(build_digest "$ex/on-base/registry.yaml" "$WORK/onbase-out")
"$STRATA" push "$WORK/onbase-out/on-base" "docker://$reg/apps/on-base:1.0" >/dev/null 2>"$WORK/err" ||
  { cat "$WORK/err"; fail "push on-base"; }
grep -q "mounted layer 1 of 3 sha256:.* from docker://$reg/tools/busybox" "$WORK/err" ||
  { cat "$WORK/err"; fail "the base layer was not mounted"; }
grep -q ", 2 mounted;" "$WORK/err" || { cat "$WORK/err"; fail "mount count"; }
pass "base layers are mounted from the base's repository"

# An archive pushes like its layout; a destination with a digest is a usage error.
"$STRATA" build "$ex/busybox/strata.yaml" -o "$WORK/arch-out" --archive >/dev/null 2>&1
"$STRATA" push "$WORK/arch-out/busybox.tar" "docker://$reg/archive/busybox:a" >"$WORK/out" 2>"$WORK/err" ||
  { cat "$WORK/err"; fail "push an archive"; }
expect_eq "an archive pushes the same image" "docker://$reg/archive/busybox:a@$busybox" "$(cat "$WORK/out")"
rc=0
"$STRATA" push "$ex/out/busybox" "docker://$reg/x/y@$busybox" >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "a digest destination is a usage error" 2 "$rc"

# Basic auth: pushing needs the credentials; with an auth file it works.
htpasswd -Bbc "$WORK/htpasswd" tester s3cret >/dev/null 2>&1
start_registry auth "$WORK/htpasswd"
areg="127.0.0.1:$REG_PORT"
rc=0
"$STRATA" push "$ex/out/busybox" "docker://$areg/tools/busybox" >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "push without credentials fails" 1 "$rc"
grep -q "requires a login" "$WORK/err" || { cat "$WORK/err"; fail "no-credentials message"; }
printf '{"auths":{"%s":{"auth":"%s"}}}' "$areg" "$(printf tester:s3cret | base64)" >"$WORK/auth.json"
"$STRATA" push "$ex/out/busybox" "docker://$areg/tools/busybox" --authfile "$WORK/auth.json" \
  >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; fail "push with --authfile"; }
skopeo inspect --raw --tls-verify=false --creds tester:s3cret "docker://$areg/tools/busybox:1.35" |
  sha256sum | grep -q "^$hex " || fail "the authenticated push"
pass "Basic auth push with --authfile"

# podman pulls and runs what strata pushed.
rc=0
client_podman_setup "$WORK/podman" || rc=$?
if [[ $rc -eq 77 ]]; then
  echo "SKIP: podman pull/run (podman cannot be set up here)"
else
  client_podman pull --tls-verify=false "docker://$reg/apps/on-base:1.0" >"$WORK/podman.log" 2>&1 ||
    { cat "$WORK/podman.log"; fail "podman pull"; }
  rc=0
  out=$(client_podman_run "$reg/apps/on-base:1.0") || rc=$?
  if [[ $rc -eq 77 ]]; then
    echo "SKIP: podman run (podman cannot run containers here)"
  else
    [[ $rc -eq 0 ]] || fail "podman run"
    [[ $out == *"hello from a layer on busybox"* ]] || fail "podman run output: $out"
    pass "podman pulls and runs the pushed image"
  fi
  client_podman_cleanup
fi

# strata verify from the registry alone: the image pulled, the signed provenance from its
# referrers, rebuilt and compared; attest verify checks the envelope without pulling.
XDG_CACHE_HOME="$WORK/verify-cache" "$STRATA" verify "docker://$reg/tools/busybox@$busybox" \
  --key "$WORK/ed.pub" >"$WORK/verify.out" 2>"$WORK/verify.err" ||
  { cat "$WORK/verify.err" "$WORK/verify.out"; fail "strata verify docker://"; }
expect_eq "verify docker:// says reproduced" "reproduced $busybox" "$(tail -n 1 "$WORK/verify.out")"
grep -q "provenance: application/vnd.in-toto.provenance+dsse from the referrers" "$WORK/verify.err" ||
  { cat "$WORK/verify.err"; fail "verify did not take the envelope from the referrers"; }
"$STRATA" attest verify "docker://$reg/tools/busybox@$busybox" --key "$WORK/ed.pub" >"$WORK/att.out" 2>&1 ||
  { cat "$WORK/att.out"; fail "strata attest verify docker://"; }
grep -q "^subject: ok ($busybox)" "$WORK/att.out" || { cat "$WORK/att.out"; fail "attest verify subject"; }
"$STRATA" keygen --type ed25519 -o "$WORK/other" >/dev/null 2>&1
rc=0
"$STRATA" attest verify "docker://$reg/tools/busybox@$busybox" --key "$WORK/other.pub" >/dev/null 2>&1 || rc=$?
expect_eq "attest verify docker:// with another key fails" 1 "$rc"
pass "strata verify and attest verify of a registry image"

# A tampered blob in the registry: verify fails naming the layer, and stores nothing.
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"].split(":")[1])' \
  "$ex/out/busybox/blobs/sha256/$hex")
data="$REG_DATA/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data"
[[ -f $data ]] || fail "no blob file at $data"
python3 - "$data" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
PY
rc=0
XDG_CACHE_HOME="$WORK/tamper-cache" "$STRATA" verify "docker://$areg/tools/busybox@$busybox" \
  --key "$WORK/ed.pub" --authfile "$WORK/auth.json" >"$WORK/t.out" 2>"$WORK/t.err" || rc=$?
expect_eq "verify of a tampered registry image fails" 1 "$rc"
grep -q "layer 1 of 2 sha256:$layer: digest mismatch" "$WORK/t.err" || { cat "$WORK/t.err"; fail "tamper message"; }
[[ ! -e "$WORK/tamper-cache/strata/sources/sha256/$layer" ]] || fail "the tampered blob was stored"
pass "a tampered pushed blob fails verify naming the layer"
