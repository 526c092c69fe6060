#!/usr/bin/env bash
# Registry images as build inputs (docs/registries.md), against Debian's docker-registry on
# 127.0.0.1: a base pulled by docker:// reference builds to the same digest as the same base
# as a local layout; --offline works afterwards from the cache; a tampered blob, a wrong pin
# and a missing login are clear errors that store nothing; Basic auth takes credentials from
# every file of the chain and from a docker-credential helper; `strata pull` writes a layout
# skopeo reads; `strata pin` resolves a tag.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"
require_registry
require_static_busybox
command -v skopeo >/dev/null || skip "skopeo is not installed"

export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME"
ex="$WORK/examples"
mkdir -p "$ex"
cp -r "$SOURCE_DIR/examples/busybox" "$SOURCE_DIR/examples/on-base" "$ex/"
busybox=$(build_digest "$ex/busybox/strata.yaml" "$ex/out")

start_registry plain
reg="127.0.0.1:$REG_PORT"
skopeo_push "$ex/out/busybox" "$reg/tools/busybox:1.36"

# The same spec with its base from the registry, and from the layout `strata pull` writes
# of it (both name the base HOST/REPO:TAG in the image's base.name annotation).
XDG_CACHE_HOME="$WORK/pull-cache" "$STRATA" pull "docker://$reg/tools/busybox:1.36" -o "$ex/pulled" \
  >"$WORK/pull.out" 2>"$WORK/err" || { cat "$WORK/err"; fail "strata pull"; }
expect_eq "pull prints the pin" "docker://$reg/tools/busybox:1.36@$busybox" "$(cat "$WORK/pull.out")"
got=$(skopeo inspect --raw "oci:$ex/pulled:1.36" | sha256sum | cut -d' ' -f1)
expect_eq "the pulled layout holds the same manifest" "${busybox#sha256:}" "$got"
rc=0
"$STRATA" pull "docker://$reg/tools/busybox:1.36" -o "$ex/pulled" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "pull over an existing directory: exit $rc"
sed "s|base: .*|base: ../pulled@$busybox|" "$ex/on-base/strata.yaml" >"$ex/on-base/pulled.yaml"
local_digest=$(build_digest "$ex/on-base/pulled.yaml" "$WORK/pulled-out")
sed "s|base: .*|base: docker://$reg/tools/busybox:1.36@$busybox|" "$ex/on-base/strata.yaml" \
  >"$ex/on-base/registry.yaml"
"$STRATA" validate "$ex/on-base/registry.yaml" >/dev/null
remote_digest=$(build_digest "$ex/on-base/registry.yaml" "$WORK/remote-out")
expect_eq "a docker:// base builds what the local layout builds" "$local_digest" "$remote_digest"
grep -q "pulled layer 1 of [0-9]* sha256:" "$WORK/build.log" || fail "no log line per blob pulled"
python3 - "$WORK/remote-out/on-base.provenance.json" "$reg" "$busybox" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
deps = doc["predicate"]["buildDefinition"]["resolvedDependencies"]
base = [d for d in deps if d["annotations"]["role"] == "base-image"][0]
want = f"{sys.argv[2]}/tools/busybox:1.36@{sys.argv[3]}"
assert base["name"] == want, base
assert base["uri"] == "docker://" + want, base
assert base["digest"]["sha256"] == sys.argv[3].split(":")[1], base
PY
pass "provenance records the normalised reference and the manifest used"

# Offline afterwards: the cache holds every blob; the registry is not asked.
kill "${SERVER_PIDS[0]}"; wait "${SERVER_PIDS[0]}" 2>/dev/null || true
offline_digest=$(build_digest "$ex/on-base/registry.yaml" "$WORK/offline-out" --offline)
expect_eq "--offline builds from the cache" "$local_digest" "$offline_digest"
rc=0
XDG_CACHE_HOME="$WORK/empty-cache" "$STRATA" build "$ex/on-base/registry.yaml" -o "$WORK/x" --offline \
  >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] || fail "offline with an empty cache: exit $rc"
grep -q "is not in the cache (--offline" "$WORK/err" || { cat "$WORK/err"; fail "offline error"; }
pass "--offline with an empty cache says what is missing"

# A registry that serves a tampered blob: digest mismatch naming both, nothing stored.
start_registry tampered
reg="127.0.0.1:$REG_PORT"
skopeo_push "$ex/out/busybox" "$reg/tools/busybox:1.36"
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"].split(":")[1])' \
  "$ex/out/busybox/blobs/sha256/${busybox#sha256:}")
data="$REG_DATA/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data"
python3 - "$data" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
PY
sed "s|base: .*|base: docker://$reg/tools/busybox:1.36@$busybox|" "$ex/on-base/strata.yaml" \
  >"$ex/on-base/tampered.yaml"
rc=0
XDG_CACHE_HOME="$WORK/cache2" "$STRATA" build "$ex/on-base/tampered.yaml" -o "$WORK/t-out" \
  >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] || { cat "$WORK/err"; fail "tampered blob: exit $rc"; }
grep -q "layer 1 of [0-9]* sha256:$layer: digest mismatch: expected sha256:$layer, actual sha256:" "$WORK/err" ||
  { cat "$WORK/err"; fail "tampered blob: message"; }
grep -q "tampered.yaml:[0-9]*:[0-9]*" "$WORK/err" || { cat "$WORK/err"; fail "tampered blob: no location"; }
[[ ! -e "$WORK/cache2/strata/sources/sha256/$layer" ]] || fail "the tampered blob was stored"
[[ -z $(find "$WORK/cache2/strata/sources" -name '.strata-tmp-*' 2>/dev/null) ]] || fail "a temporary was left"
[[ ! -e "$WORK/t-out" ]] || fail "a tampered build wrote output"
pass "a tampered blob is refused and nothing is stored"

# A pin the registry does not have.
start_registry plain2
reg="127.0.0.1:$REG_PORT"
skopeo_push "$ex/out/busybox" "$reg/tools/busybox:1.36"
wrong="sha256:$(printf '0%.0s' $(seq 64))"
sed "s|base: .*|base: docker://$reg/tools/busybox:1.36@$wrong|" "$ex/on-base/strata.yaml" \
  >"$ex/on-base/wrong.yaml"
rc=0
XDG_CACHE_HOME="$WORK/cache3" "$STRATA" build "$ex/on-base/wrong.yaml" -o "$WORK/w" >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] || fail "wrong pin: exit $rc"
grep -q "manifest $wrong: not found in registry $reg (HTTP 404 (MANIFEST_UNKNOWN" "$WORK/err" ||
  { cat "$WORK/err"; fail "wrong pin: message"; }
pass "a pin the registry lacks is a clear error"

# strata pin resolves the tag to the digest it names now.
sed "s|base: .*|base: docker://$reg/tools/busybox:1.36|" "$ex/on-base/strata.yaml" >"$ex/on-base/pin.yaml"
"$STRATA" pin "$ex/on-base/pin.yaml" >"$WORK/pin.out" 2>&1 || { cat "$WORK/pin.out"; fail "strata pin"; }
grep -q "base: docker://$reg/tools/busybox:1.36@$busybox$" "$ex/on-base/pin.yaml" ||
  { cat "$ex/on-base/pin.yaml"; fail "pin did not write the digest"; }
pass "strata pin resolves a docker:// tag"

# Basic auth: no credentials is a clear error; every file of the chain, and a helper, work.
htpasswd -Bbc "$WORK/htpasswd" tester s3cret >/dev/null 2>&1
start_registry auth "$WORK/htpasswd"
reg="127.0.0.1:$REG_PORT"
skopeo copy --quiet --preserve-digests --dest-tls-verify=false --dest-creds tester:s3cret \
  "oci:$ex/out/busybox" "docker://$reg/tools/busybox:1.36" >/dev/null
sed "s|base: .*|base: docker://$reg/tools/busybox:1.36@$busybox|" "$ex/on-base/strata.yaml" \
  >"$ex/on-base/auth.yaml"
n=0
# auth_build [ENV=VALUE...] -- [FLAGS...]: builds auth.yaml with a fresh cache (so every
# build pulls); the digest goes to $WORK/digest, stderr to $WORK/err. Not run in $(...), so
# the counter survives.
auth_build() {
  n=$((n + 1))
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" XDG_CACHE_HOME="$WORK/auth-cache-$n" \
    "$STRATA" build "$ex/on-base/auth.yaml" -o "$WORK/auth-out-$n" "$@" 2>"$WORK/err" |
    tail -n 1 >"$WORK/digest" || true
}
auth_build --
grep -q "registry $reg requires a login and strata found no credentials for $reg" "$WORK/err" ||
  { cat "$WORK/err"; fail "no credentials: message"; }

token=$(printf 'tester:s3cret' | base64)
auth_json="{\"auths\":{\"$reg\":{\"auth\":\"$token\"}}}"
mkdir -p "$WORK/a/run/containers" "$WORK/a/cfg/containers" "$WORK/a/docker" "$HOME/.docker"
echo "$auth_json" >"$WORK/a/flag.json"
echo "$auth_json" >"$WORK/a/env.json"
echo "$auth_json" >"$WORK/a/run/containers/auth.json"
echo "$auth_json" >"$WORK/a/cfg/containers/auth.json"
echo "$auth_json" >"$WORK/a/docker/config.json"
# Every credential source gives the same image (its base is named by this registry).
auth_build -- --authfile "$WORK/a/flag.json"
local_digest=$(cat "$WORK/digest")
[[ $local_digest == sha256:* ]] || { cat "$WORK/err"; fail "--authfile: no digest"; }
pass "--authfile"
auth_build REGISTRY_AUTH_FILE="$WORK/a/env.json" --
expect_eq "REGISTRY_AUTH_FILE" "$local_digest" "$(cat "$WORK/digest")"
auth_build XDG_RUNTIME_DIR="$WORK/a/run" --
expect_eq "XDG_RUNTIME_DIR/containers/auth.json" "$local_digest" "$(cat "$WORK/digest")"
auth_build XDG_CONFIG_HOME="$WORK/a/cfg" --
expect_eq "XDG_CONFIG_HOME/containers/auth.json" "$local_digest" "$(cat "$WORK/digest")"
auth_build DOCKER_CONFIG="$WORK/a/docker" --
expect_eq "DOCKER_CONFIG/config.json" "$local_digest" "$(cat "$WORK/digest")"
mkdir -p "$WORK/bin"
cat >"$WORK/bin/docker-credential-strata-test" <<SH
#!/bin/sh
read server
[ "\$1" = get ] && [ "\$server" = "$reg" ] || exit 1
echo '{"ServerURL":"$reg","Username":"tester","Secret":"s3cret"}'
SH
chmod +x "$WORK/bin/docker-credential-strata-test"
echo "{\"credHelpers\":{\"$reg\":\"strata-test\"}}" >"$HOME/.docker/config.json"
auth_build PATH="$WORK/bin:$PATH" --
expect_eq "a docker-credential helper on PATH" "$local_digest" "$(cat "$WORK/digest")"
echo "{\"auths\":{\"$reg\":{\"auth\":\"$(printf 'tester:wrong' | base64)\"}}}" >"$WORK/a/bad.json"
auth_build -- --authfile "$WORK/a/bad.json"
grep -q "refused the credentials from $WORK/a/bad.json" "$WORK/err" || { cat "$WORK/err"; fail "bad credentials: message"; }
pass "wrong credentials are named"
