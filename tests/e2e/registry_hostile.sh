#!/usr/bin/env bash
# Hostile and quirky registries (docs/registries.md "What is verified"; issue 13 part 6), on
# the fake registry of lib/fake_registry.py serving an image strata built. Every hostile
# answer (tampered, short, long, dropped or endless bodies; JSON nested 100,000 deep; sizes of
# 2^63; schema 1; a wrong DiffID; retries that never end) makes `strata pull` or a build exit
# 1 within a bounded time, with a message naming the reference and what was wrong, and leaves
# no -o directory, no temporary file and nothing in the store under a wrong name. The quirks
# a registry may have (Bearer tokens, anonymous or with credentials, on the same or another
# port; 429 and 503 before success; blobs redirected to a server that refuses Authorization;
# a dropped connection resumed with Range or restarted) pull the image unchanged.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"
source "$(dirname "$0")/lib/fake_registry.sh"

export HOME="$WORK/home"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME"

# A files-only image (no build step, so no sandbox): one layer of 1 MiB that gzip cannot
# shrink, so a blob cut in half is still half a megabyte.
img="$WORK/img"
mkdir -p "$img"
python3 -c 'import random,sys; random.seed(13); sys.stdout.buffer.write(random.randbytes(1 << 20))' \
  >"$img/data.bin"
cat >"$img/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: hostile
version: "1.0"
epoch: 1700000000
image:
  layers:
    - files:
        - {src: data.bin, dest: /data.bin}
YAML
digest=$(XDG_CACHE_HOME="$WORK/build-cache" build_digest "$img/strata.yaml" "$WORK/out")
[[ $digest == sha256:* ]] || { cat "$WORK/build.log"; fail "building the test image"; }
layout="$WORK/out/hostile"

n=0
# pull REF [FLAGS...]: `strata pull docker://REF -o $WORK/pull-N` with a fresh cache
# ($WORK/cache-N), bounded by `timeout`; sets RC, OUT (the -o directory), CACHE (the strata
# cache) and STORE; stderr in $WORK/err.
pull() {
  n=$((n + 1))
  local ref=$1
  shift
  OUT="$WORK/pull-$n" CACHE="$WORK/cache-$n/strata" STORE="$WORK/cache-$n/strata/sources/sha256"
  RC=0
  XDG_CACHE_HOME="$WORK/cache-$n" timeout 120 "$STRATA" pull "docker://$ref" -o "$OUT" "$@" \
    >"$WORK/out.txt" 2>"$WORK/err" || RC=$?
  [[ $RC -ne 124 ]] || fail "strata pull $ref hung (killed after 120 s)"
}

# store_is_clean WHAT: every file in the store is named by its own digest, and no temporary
# file or directory is left in the cache.
store_is_clean() {
  local f
  if [[ -d $STORE ]]; then
    for f in "$STORE"/*; do
      [[ -e $f ]] || continue
      [[ $(sha256sum "$f" | cut -d' ' -f1) == "$(basename "$f")" ]] ||
        fail "$1: the store holds $(basename "$f") under a wrong name"
    done
  fi
  [[ -z $(find "$CACHE" -name '.strata-tmp-*' 2>/dev/null) ]] || fail "$1: a temporary was left"
}

# expect_refused WHAT TEXT...: the last pull exited 1, its stderr holds every TEXT (fixed
# strings), nothing was written to -o, the store is clean and no image was laid out.
expect_refused() {
  local what=$1 text
  shift
  [[ $RC -eq 1 ]] || { cat "$WORK/err"; fail "$what: exit $RC, expected 1"; }
  for text in "$@"; do
    grep -qF -- "$text" "$WORK/err" || { cat "$WORK/err"; fail "$what: no '$text' in the message"; }
  done
  [[ ! -e $OUT ]] || fail "$what: -o $OUT was written"
  store_is_clean "$what"
  [[ -z $(ls -A "$CACHE/registry/images" 2>/dev/null) ]] || fail "$what: an image was laid out"
  pass "$what"
}

# expect_pulled WHAT: the last pull exited 0 and -o holds the image, by the digest pinned.
expect_pulled() {
  [[ $RC -eq 0 ]] || { cat "$WORK/err"; fail "$1: exit $RC"; }
  local got
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
    "$OUT/index.json")
  [[ $got == "$digest" ]] || fail "$1: the layout holds $got, not $digest"
  cmp -s "$OUT/blobs/sha256/${target#sha256:}" "$layout/blobs/sha256/${target#sha256:}" ||
    fail "$1: the layer differs"
  store_is_clean "$1"
  pass "$1"
}

# --- blobs that are not what their descriptor says --------------------------------------------
start_fake tamper --layout "$layout" --blob-fault tamper
target=$(fake_info target digest)
size=$(fake_info target size)
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile:1.0@$digest"
expect_refused "a tampered blob" "docker://$reg/app/hostile:1.0@$digest: layer 1 of 1 $target" \
  "digest mismatch: expected $target, actual sha256:"
[[ ! -e $STORE/${target#sha256:} ]] || fail "the tampered layer was stored"
stop_fake

start_fake truncate --layout "$layout" --blob-fault truncate
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "a truncated blob" "docker://$reg/app/hostile@$digest: layer 1 of 1 $target" \
  "size mismatch: the descriptor says $size bytes, the registry sent $((size / 2))"
stop_fake

start_fake long --layout "$layout" --blob-fault long
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "a blob longer than its descriptor" "docker://$reg/app/hostile@$digest: layer 1 of 1 $target" \
  "longer than $size bytes"
stop_fake

# A connection dropped mid-blob every time: a bounded number of attempts, then an error.
start_fake drop --layout "$layout" --blob-fault drop
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "a connection dropped mid-blob, every time" \
  "docker://$reg/app/hostile@$digest: layer 1 of 1 $target" "gave up after 5 attempts"
stop_fake

# --- manifests and configs that are too big, too deep or impossible -----------------------------
start_fake huge --layout "$layout" --manifest-fault huge
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "a manifest of 8 GiB" "docker://$reg/app/hostile: manifest $digest" \
  "longer than 4194304 bytes"
stop_fake

start_fake endless --layout "$layout" --manifest-fault endless
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "an endless manifest body" "docker://$reg/app/hostile: manifest $digest" \
  "longer than 4194304 bytes"
pull "$reg/app/hostile:1.0"
expect_refused "an endless manifest body, by tag" "docker://$reg/app/hostile: manifest 1.0" \
  "longer than 4194304 bytes"
stop_fake

# mutate KIND: a fake serving the hostile image KIND (tagged "hostile"); sets HOSTILE.
mutate() {
  start_fake "mutate-$1" --layout "$layout" --mutate "$1"
  reg="127.0.0.1:$FAKE_PORT"
  HOSTILE=$(fake_info tags hostile)
}
mutate nested-manifest
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a manifest nested 100,000 deep" "docker://$reg/app/hostile: manifest $HOSTILE" \
  "nest more than 128 levels deep"
stop_fake
mutate nested-config
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a config nested 100,000 deep" "docker://$reg/app/hostile@$HOSTILE: config" \
  "nest more than 128 levels deep"
stop_fake
mutate config-not-object
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a config that is not a JSON object" "docker://$reg/app/hostile@$HOSTILE: config" \
  "not a JSON object"
stop_fake
mutate size-2^63
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a layer size of 2^63" "docker://$reg/app/hostile@$HOSTILE: layers" \
  "impossible size 9223372036854775808"
stop_fake
mutate size-max
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a layer size of 2^63-1" "docker://$reg/app/hostile@$HOSTILE: layer 1 of 1 $target" \
  "size mismatch: the descriptor says 9223372036854775807 bytes, the registry sent $size"
stop_fake
mutate config-huge
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a config of 1 TiB" "docker://$reg/app/hostile@$HOSTILE: the config is 1099511627776 bytes"
stop_fake
mutate schema1
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a schema 1 manifest" "docker://$reg/app/hostile: manifest $HOSTILE: a schema 1 manifest"
pull "$reg/app/hostile:hostile"
expect_refused "a schema 1 manifest, by tag" "docker://$reg/app/hostile: manifest hostile: a schema 1 manifest"
stop_fake
mutate foreign
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a non-distributable layer" "docker://$reg/app/hostile@$HOSTILE: layer $target is non-distributable"
stop_fake

# A layer whose DiffID is not the config's: `strata pull` checks each layer's DiffID too.
mutate diffid
pull "$reg/app/hostile@$HOSTILE"
expect_refused "a layer whose DiffID does not match the config" \
  "docker://$reg/app/hostile@$HOSTILE: layer 1 of 1 $target" "diff_id mismatch"
# A build on it fails the same way and writes nothing.
sed -e "/^image:/a\\  base: docker://$reg/app/hostile@$HOSTILE" "$img/strata.yaml" >"$img/diffid.yaml"
RC=0
XDG_CACHE_HOME="$WORK/diffid-cache" timeout 120 "$STRATA" build "$img/diffid.yaml" -o "$WORK/diffid-out" \
  >/dev/null 2>"$WORK/err" || RC=$?
[[ $RC -eq 1 ]] || { cat "$WORK/err"; fail "a build on a wrong DiffID: exit $RC"; }
grep -qF "base image $reg/app/hostile@$HOSTILE" "$WORK/err" || { cat "$WORK/err"; fail "a wrong DiffID: the image is not named"; }
grep -qF "diff_id mismatch" "$WORK/err" || { cat "$WORK/err"; fail "a wrong DiffID: message"; }
[[ ! -e $WORK/diffid-out ]] || fail "a build on a wrong DiffID wrote output"
pass "a build on a layer whose DiffID does not match fails"
stop_fake

# --- retries ---------------------------------------------------------------------------------
start_fake retry-long --layout "$layout" --fail-429 1 --retry-after 3600
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "a Retry-After of an hour" "registry $reg: HTTP 429" "asks to retry after 3600 s"
stop_fake

start_fake unavailable --layout "$layout" --fail-503 1000
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_refused "503 on every request" "registry $reg: HTTP 503 (UNAVAILABLE: try again)" \
  "gave up after 5 attempts"
stop_fake

start_fake retry --layout "$layout" --fail-429 2 --retry-after 1 --fail-503 2
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_pulled "429 with Retry-After and a 503 burst, then success"
[[ $(grep -c 'status=429' "$FAKE_LOG") -eq 2 && $(grep -c 'status=503' "$FAKE_LOG") -eq 2 ]] ||
  { cat "$FAKE_LOG"; fail "the retries were not the ones injected"; }
stop_fake

# A dropped connection once: resumed with Range where the server answers 206, restarted from
# the first byte where it ignores Range.
start_fake resume --layout "$layout" --blob-fault drop --fault-count 1
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_pulled "a dropped connection, resumed with Range"
grep -q "GET /v2/app/hostile/blobs/$target status=206 auth=none range=bytes=$((size / 2))-" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "the retry did not resume from byte $((size / 2))"; }
stop_fake
start_fake restart --layout "$layout" --blob-fault drop --fault-count 1 --ignore-range
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_pulled "a dropped connection, restarted where Range is ignored"
[[ $(grep -c "GET /v2/app/hostile/blobs/$target status=200" "$FAKE_LOG") -eq 2 ]] ||
  { cat "$FAKE_LOG"; fail "the retry did not restart"; }
stop_fake
start_fake bad-range --layout "$layout" --blob-fault drop --fault-count 1 --bad-range
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_pulled "a dropped connection, restarted once without Range after a wrong Content-Range"
grep "GET /v2/app/hostile/blobs/$target " "$FAKE_LOG" | cut -d' ' -f4- >"$WORK/blob-requests"
printf '%s\n' "status=200 auth=none range=-" "status=206 auth=none range=bytes=$((size / 2))-" \
  "status=200 auth=none range=-" | diff - "$WORK/blob-requests" || fail "the requests after a wrong Content-Range"
stop_fake

# --- auth and redirects ------------------------------------------------------------------------
start_fake bearer --layout "$layout" --auth bearer
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile:1.0@$digest"
expect_pulled "an anonymous Bearer token"
grep -q "GET /token?.*scope=repository%3Aapp%2Fhostile%3Apull.* status=200 auth=none" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "no anonymous token was asked for"; }
grep -q "GET /v2/app/hostile/blobs/$target status=200 auth=bearer" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "the blob was not fetched with the token"; }
stop_fake

start_fake private --layout "$layout" --auth bearer --token-port-separate --private app/private
reg="127.0.0.1:$FAKE_PORT"
[[ $FAKE_TOKEN_PORT != "$FAKE_PORT" ]] || fail "the token server shares the registry's port"
pull "$reg/app/private@$digest"
expect_refused "a private repository without credentials" "registry $reg denied GET" "HTTP 401"
echo "{\"auths\":{\"$reg\":{\"auth\":\"$(printf 'tester:wrong' | base64)\"}}}" >"$WORK/bad.json"
pull "$reg/app/private@$digest" --authfile "$WORK/bad.json"
expect_refused "wrong credentials for the token server" \
  "the token server http://127.0.0.1:$FAKE_TOKEN_PORT/token refused a token" \
  "with the credentials from $WORK/bad.json"
echo "{\"auths\":{\"$reg\":{\"auth\":\"$(printf 'tester:s3cret' | base64)\"}}}" >"$WORK/auth.json"
pull "$reg/app/private@$digest" --authfile "$WORK/auth.json"
expect_pulled "credentials from an auth file, a token realm on another port"
grep -q "^token GET /token?.*app%2Fprivate%3Apull.* status=200 auth=basic" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "the token was not asked for with the credentials"; }
stop_fake

start_fake redirect --layout "$layout" --auth bearer --redirect-blobs
reg="127.0.0.1:$FAKE_PORT"
pull "$reg/app/hostile@$digest"
expect_pulled "blobs redirected to another port"
grep -q "^registry GET /v2/app/hostile/blobs/$target status=307 auth=bearer" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "the blob request to the registry"; }
grep -q "^redirect GET /blobs/$target status=200 auth=none" "$FAKE_LOG" ||
  { cat "$FAKE_LOG"; fail "the redirected blob request"; }
! grep -q "^redirect .* auth=bearer" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "Authorization followed the redirect"; }
pass "Authorization does not follow a redirect to another port"

# A build with a docker:// base on the fake (token auth, redirected blobs) builds what the
# same base as a local layout builds.
sed -e "/^image:/a\\  base: docker://$reg/app/hostile:1.0@$digest" "$img/strata.yaml" >"$img/remote.yaml"
remote=$(XDG_CACHE_HOME="$WORK/remote-cache" timeout 120 "$STRATA" build "$img/remote.yaml" -o "$WORK/remote-out" 2>"$WORK/err" | tail -n 1) ||
  { cat "$WORK/err"; fail "a build on the fake registry"; }
XDG_CACHE_HOME="$WORK/local-cache" timeout 120 "$STRATA" pull "docker://$reg/app/hostile:1.0@$digest" \
  -o "$WORK/named" >/dev/null 2>&1 || fail "pull for the local build"
sed -e "/^image:/a\\  base: $WORK/named@$digest" "$img/strata.yaml" >"$img/local.yaml"
local_digest=$(XDG_CACHE_HOME="$WORK/local-cache" "$STRATA" build "$img/local.yaml" -o "$WORK/local-out" 2>"$WORK/err" | tail -n 1)
expect_eq "a docker:// base on the fake builds what its pulled layout builds" "$local_digest" "$remote"
stop_fake
