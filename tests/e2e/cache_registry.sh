#!/usr/bin/env bash
# The registry cache (docs/cache.md "A registry cache") against Debian's docker-registry on
# 127.0.0.1: machine A builds examples/lib-and-app and pushes signed entries; machine B
# (another cache, directory, umask and TZ) runs no build step and makes the same image;
# poisoned entries (untrusted key, unsigned, a signed claim of another output, a replaced
# layer, a statement for another key) are each ignored with a warning and rebuilt; a second
# writer with another output for a key is reported as not reproducible and the first kept; a
# registry that is down warns and the build goes on, unless --cache-registry-required.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"
require_registry
command -v skopeo >/dev/null || skip "skopeo is not installed"
probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
export HOME="$WORK/home"
mkdir -p "$HOME"
"$STRATA" keygen --type ed25519 -o "$WORK/trusted" >/dev/null 2>&1
"$STRATA" keygen --type ed25519 -o "$WORK/other" >/dev/null 2>&1
start_registry cache
reg="127.0.0.1:$REG_PORT"

n=0
# machine NAME REPO [FLAGS...]: a build of lib-and-app on a "machine" of its own (copy of
# the example, cache, working directory); stdout's JSON in $WORK/NAME.json, stderr in
# $WORK/NAME.err, the digest in $WORK/NAME.digest.
machine() {
  local name=$1 repo=$2
  shift 2
  mkdir -p "$WORK/$name"
  [[ -d "$WORK/$name/src" ]] || cp -r "$SOURCE_DIR/examples/lib-and-app" "$WORK/$name/src"
  (cd "$WORK/$name" && "$STRATA" build src/strata.yaml -o out --cache "$WORK/$name/cache" --json \
    --cache-registry "docker://$reg/$repo" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err") ||
    { cat "$WORK/$name.err"; fail "build on machine $name"; }
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest_digest"])' \
    "$WORK/$name.json" >"$WORK/$name.digest"
}
# layer_origins NAME: each layer's origin in machine NAME's --json, in order.
layer_origins() {
  python3 -c 'import json,sys; print(" ".join(l["origin"] for l in json.load(open(sys.argv[1]))["layers"]))' "$WORK/$1.json"
}
# origins NAME: "app=ORIGIN libgreet=ORIGIN" from machine NAME's --json.
origins() {
  python3 - "$WORK/$1.json" <<'PY'
import json, sys
packages = sorted(json.load(open(sys.argv[1]))["packages"], key=lambda p: p["name"])
print(" ".join(p["name"] + "=" + p["origin"] for p in packages))
PY
}

# Machine A builds and pushes; machine B builds nothing and gets the same image.
machine a cache/strata --cache-sign-key "$WORK/trusted.key"
expect_eq "machine A builds both packages" "app=built libgreet=built" "$(origins a)"
grep -q "pushed to the registry cache docker://$reg/cache/strata (p-" "$WORK/a.err" ||
  { cat "$WORK/a.err"; fail "no push line"; }
lib_key=$(python3 -c 'import json,sys; print([p for p in json.load(open(sys.argv[1]))["packages"] if p["name"]=="libgreet"][0]["cache_key"].split(":")[1])' "$WORK/a.json")
skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:p-$lib_key" | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert m["artifactType"] == "application/vnd.strata.package-output.v1", m
assert m["config"]["mediaType"] == "application/vnd.dsse.envelope.v1+json", m' || fail "the entry's manifest"
# ... and its image layer, compressed once, as an l-<layer cache key> entry.
grep -q "layer sha256:[0-9a-f]*: pushed to the registry cache docker://$reg/cache/strata (l-" "$WORK/a.err" ||
  { cat "$WORK/a.err"; fail "no layer push line"; }
layer_tags=$(curl -sf "http://$reg/v2/cache/strata/tags/list" |
  python3 -c 'import json,sys; print(" ".join(sorted(t for t in json.load(sys.stdin)["tags"] if t.startswith("l-"))))')
[[ -n "$layer_tags" ]] || fail "no l- tag in the registry"
for t in $layer_tags; do
  skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:$t" | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert m["artifactType"] == "application/vnd.strata.layer-blob.v1", m
assert m["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", m' || fail "layer entry $t"
done
# ... and as an i-<input key> entry: the same blob, found by what the layer is made of.
input_tags=$(curl -sf "http://$reg/v2/cache/strata/tags/list" |
  python3 -c 'import json,sys; print(" ".join(sorted(t for t in json.load(sys.stdin)["tags"] if t.startswith("i-"))))')
[[ -n "$input_tags" ]] || fail "no i- tag in the registry"
for t in $input_tags; do
  skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:$t" | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert m["artifactType"] == "application/vnd.strata.layer-inputs.v1", m
assert m["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", m' || fail "inputs entry $t"
done
entry_count=$((2 + $(wc -w <<<"$layer_tags") + $(wc -w <<<"$input_tags")))
(umask 077; TZ=Pacific/Chatham machine b cache/strata --cache-trust "$WORK/trusted.pub")
expect_eq "machine B takes both from the registry" "app=registry-cache libgreet=registry-cache" "$(origins b)"
! grep -q "step [0-9]/" "$WORK/b.err" || { cat "$WORK/b.err"; fail "machine B ran a build step"; }
# B takes the image's layer by its inputs: app's output only feeds that layer, so B never
# downloads it (libgreet's it does: app's key is made from it).
grep -q "layer with inputs [0-9a-f]*: taken from the registry cache docker://$reg/cache/strata (i-" "$WORK/b.err" ||
  { cat "$WORK/b.err"; fail "machine B compressed its layer instead of taking it"; }
grep -q "package 'app': found in the registry cache docker://$reg/cache/strata (p-.*fetched only if a layer needs it)" "$WORK/b.err" ||
  { cat "$WORK/b.err"; fail "machine B fetched app's output"; }
! grep -q "package 'app': taken from the registry cache" "$WORK/b.err" || fail "machine B downloaded app's output"
expect_eq "machine B makes the same image" "$(cat "$WORK/a.digest")" "$(cat "$WORK/b.digest")"
# ... and the same attestations: its SBOM lists the files it read back from the layer blob,
# its provenance the host files it hashed, exactly as A's list what A wrote.
for f in "$WORK"/a/out/*.json; do
  cmp -s "$f" "$WORK/b/out/$(basename "$f")" || fail "machine B's $(basename "$f") differs from A's"
done
ls "$WORK"/a/out/*.spdx.json >/dev/null 2>&1 || ls "$WORK"/a/out/*sbom* >/dev/null 2>&1 ||
  fail "no SBOM beside A's image ($(ls "$WORK/a/out"))"
machine b cache/strata --cache-trust "$WORK/trusted.pub"
# app's output was never downloaded: B looks it up again, and finds its layer in its own cache.
expect_eq "then its own cache" "app=registry-cache libgreet=local-cache" "$(origins b)"
expect_eq "and its layer" "local-cache" "$(layer_origins b)"
pass "a second machine builds nothing and gets the same digest"

# A reader that trusts no key of the writer, or none at all: every entry is ignored.
machine c cache/strata --cache-trust "$WORK/other.pub"
expect_eq "an untrusted writer's entries are not used" "app=built libgreet=built" "$(origins c)"
grep -q "package 'libgreet': registry cache docker://$reg/cache/strata entry p-$lib_key ignored: it is not signed by a trusted key" \
  "$WORK/c.err" || { cat "$WORK/c.err"; fail "untrusted: warning"; }
expect_eq "and the image is still right" "$(cat "$WORK/a.digest")" "$(cat "$WORK/c.digest")"
pass "entries signed by an untrusted key are ignored"

# --explain-cache on a miss in both caches: the nearest entry another machine wrote, by the
# fields of the key's preimage that differ (only entries a trusted key signed count).
mkdir -p "$WORK/e"
cp -r "$SOURCE_DIR/examples/lib-and-app" "$WORK/e/src"
sed -i '0,/make CFLAGS=-O2/s//make CFLAGS=-O1/' "$WORK/e/src/strata.yaml"
machine e cache/strata --cache-trust "$WORK/trusted.pub" --explain-cache libgreet
grep -q "package 'libgreet': the registry cache docker://$reg/cache/strata has no entry for this key; the nearest of its 1 for the package is docker://$reg/cache/strata:p-$lib_key (key sha256:$lib_key, written [0-9T:-]*Z; [0-9]* of its 2 entries looked at), which differs in:" \
  "$WORK/e.err" || { cat "$WORK/e.err"; fail "--explain-cache: no nearest registry entry"; }
grep -Fxq '  /key/package/steps/0: "make CFLAGS=-O2" -> "make CFLAGS=-O1"' "$WORK/e.err" ||
  { cat "$WORK/e.err"; fail "--explain-cache: the differing step"; }
rm -rf "$WORK/e/cache"
machine e cache/strata --cache-trust "$WORK/other.pub" --explain-cache libgreet
grep -q "package 'libgreet': the registry cache docker://$reg/cache/strata has no entry for this key, and none for the package under another key that a trusted key signed" \
  "$WORK/e.err" || { cat "$WORK/e.err"; fail "--explain-cache: untrusted entries were compared"; }
pass "--explain-cache: a registry miss names the nearest trusted entry and what differs"

# Poisoned entries, each in a repository of its own, written by A's key then rewritten.
for attack in unsign output key layer; do
  repo="poison/$attack"
  rm -rf "$WORK/w-$attack/cache"
  machine "w-$attack" "$repo" --cache-sign-key "$WORK/trusted.key"
  python3 "$E2E_DIR/lib/cache_entry.py" "$reg" "$repo" "p-$lib_key" "$attack" "$WORK/trusted.key" ||
    fail "rewriting the entry ($attack)"
  machine "r-$attack" "$repo" --cache-trust "$WORK/trusted.pub"
  case $attack in
    unsign) why="it is not signed" ;;
    output) why="its output does not match its statement (.*sha256:0000" ;;
    key) why="its statement is for key sha256:1111" ;;
    layer) why="its layer sha256:[0-9a-f]* is not the one its statement names" ;;
  esac
  grep -q "package 'libgreet': registry cache docker://$reg/$repo entry p-$lib_key ignored: $why" "$WORK/r-$attack.err" ||
    { cat "$WORK/r-$attack.err"; fail "$attack: warning"; }
  [[ "$(origins "r-$attack")" == "app=registry-cache libgreet=built" ]] ||
    fail "$attack: libgreet was not rebuilt ($(origins "r-$attack"))"
  expect_eq "$attack: the image is still right" "$(cat "$WORK/a.digest")" "$(cat "$WORK/r-$attack.digest")"
done
pass "unsigned, falsely claimed, misdirected and replaced entries are ignored and rebuilt"

# A false claim about an output B only looks up (app's: no package depends on it): the
# claimed digest finds no layer, the output is fetched to make one and does not match, and
# B starts its packages again without trusting any claim it has not checked (libgreet,
# whose entry is poisoned too, it built on the first pass).
app_key=$(python3 -c 'import json,sys; print([p for p in json.load(open(sys.argv[1]))["packages"] if p["name"]=="app"][0]["cache_key"].split(":")[1])' "$WORK/a.json")
python3 "$E2E_DIR/lib/cache_entry.py" "$reg" poison/output "p-$app_key" output "$WORK/trusted.key" ||
  fail "rewriting app's entry"
rm -rf "$WORK/r-output/cache"
machine r-output poison/output --cache-trust "$WORK/trusted.pub"
grep -q "package 'app': registry cache docker://$reg/poison/output entry p-$app_key ignored: its output does not match its statement (.*sha256:0000" \
  "$WORK/r-output.err" || { cat "$WORK/r-output.err"; fail "deferred output: warning"; }
expect_eq "a deferred output that lied is built" "app=built libgreet=local-cache" "$(origins r-output)"
expect_eq "and the image is still right" "$(cat "$WORK/a.digest")" "$(cat "$WORK/r-output.digest")"
pass "a false claim about an output that was only looked up is caught when it is needed"

# --cache-trust none reads the unsigned entry; a plain rewrite with another output is
# still caught by the tree digest.
machine r-none poison/unsign --cache-trust none
expect_eq "--cache-trust none accepts an unsigned entry" "app=registry-cache libgreet=registry-cache" "$(origins r-none)"

# First writer wins: a package whose output differs on every build.
mkdir -p "$WORK/nd/src"
cat >"$WORK/nd/src/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: nd
version: "1.0"
epoch: 1700000000
packages:
  - name: noise
    version: "1.0"
    steps:
      - mkdir -p "$DESTDIR/etc" && head -c 16 /dev/urandom | od -An -tx1 >"$DESTDIR/etc/noise"
image:
  layers:
    - packages: [noise]
YAML
nd_build() {  # nd_build NAME FLAGS...
  local name=$1
  shift
  (cd "$WORK/nd" && "$STRATA" build src/strata.yaml -o "out-$name" --cache "$WORK/nd/cache-$name" --json \
    --cache-registry "docker://$reg/nd/cache" "$@" >"$WORK/nd-$name.json" 2>"$WORK/nd-$name.err") ||
    { cat "$WORK/nd-$name.err"; fail "nd build $name"; }
}
nd_build first --cache-sign-key "$WORK/trusted.key"
nd_build second --cache-sign-key "$WORK/trusted.key" --cache-trust "$WORK/other.pub"
grep -q "package 'noise' is not reproducible: the registry cache docker://$reg/nd/cache entry p-[0-9a-f]* holds output sha256:[0-9a-f]*, this build made sha256:[0-9a-f]* (the first is kept)" \
  "$WORK/nd-second.err" || { cat "$WORK/nd-second.err"; fail "no non-reproducibility report"; }
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"][0]["output_digest"])' "$WORK/nd-first.json")
nd_build third --cache-trust "$WORK/trusted.pub"
expect_eq "the first writer's output is kept" "$first" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"][0]["output_digest"])' "$WORK/nd-third.json")"
pass "a second writer with another output is reported and the first kept"

# Retention: prune --registry deletes the entries older than the limit, and only them.
"$STRATA" cache prune --registry "docker://$reg/cache/strata" --older-than 1d >"$WORK/prune.out" 2>&1 ||
  { cat "$WORK/prune.out"; fail "prune --older-than 1d"; }
grep -q "^removed 0 of $entry_count entries in docker://$reg/cache/strata$" "$WORK/prune.out" || { cat "$WORK/prune.out"; fail "1d removed something"; }
"$STRATA" cache prune --registry "docker://$reg/cache/strata" --older-than 0s --dry-run >"$WORK/prune.out" 2>&1
grep -q "^would remove p-$lib_key (package libgreet), created " "$WORK/prune.out" || { cat "$WORK/prune.out"; fail "dry run"; }
skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:p-$lib_key" >/dev/null || fail "--dry-run removed an entry"
"$STRATA" cache prune --registry "docker://$reg/cache/strata" --older-than 0s >"$WORK/prune.out" 2>&1 ||
  { cat "$WORK/prune.out"; fail "prune --older-than 0s"; }
grep -q "^removed ${layer_tags%% *} (a layer blob), created " "$WORK/prune.out" || { cat "$WORK/prune.out"; fail "prune: layer entry"; }
grep -q "^removed $entry_count of $entry_count entries" "$WORK/prune.out" || { cat "$WORK/prune.out"; fail "prune 0s"; }
if skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:p-$lib_key" >/dev/null 2>&1; then
  fail "a pruned entry is still there"
fi
skopeo inspect --raw --tls-verify=false "docker://$reg/poison/unsign:p-$lib_key" >/dev/null ||
  fail "prune touched another repository"
machine a cache/strata --cache-sign-key "$WORK/trusted.key"
expect_eq "after a prune, machine A's own cache is used" "app=local-cache libgreet=local-cache" "$(origins a)"
skopeo inspect --raw --tls-verify=false "docker://$reg/cache/strata:p-$lib_key" >/dev/null ||
  fail "a local hit did not fill the pruned registry cache again"
pass "prune --registry removes old entries and nothing else"

# Distribution's garbage collection (untagged manifests deleted) keeps every entry: each is
# tagged. The registry is stopped for it and started again on its storage.
kill "${SERVER_PIDS[0]}"
wait "${SERVER_PIDS[0]}" 2>/dev/null || true
docker-registry garbage-collect --delete-untagged "$WORK/cache.yml" >"$WORK/gc.log" 2>&1 ||
  { cat "$WORK/gc.log"; fail "garbage-collect"; }
start_registry cache
reg="127.0.0.1:$REG_PORT"
machine g poison/unsign --cache-trust none
expect_eq "entries survive garbage-collect --delete-untagged" "app=registry-cache libgreet=registry-cache" "$(origins g)"
pass "registry garbage collection keeps the cache entries"

# The registry down: a warning and a local build; with --cache-registry-required, an error.
kill "${SERVER_PIDS[1]}"
wait "${SERVER_PIDS[1]}" 2>/dev/null || true
machine down cache/strata --cache-trust "$WORK/trusted.pub"
expect_eq "a registry that is down: built locally" "app=built libgreet=built" "$(origins down)"
grep -q "warning: registry cache docker://$reg/cache/strata: .*; building without it" "$WORK/down.err" ||
  { cat "$WORK/down.err"; fail "registry down: warning"; }
[[ $(grep -c "building without it" "$WORK/down.err") -eq 1 ]] || fail "the warning was not given once"
rm -rf "$WORK/req"
mkdir -p "$WORK/req"
cp -r "$SOURCE_DIR/examples/lib-and-app" "$WORK/req/src"
rc=0
(cd "$WORK/req" && "$STRATA" build src/strata.yaml -o out --cache "$WORK/req/cache" \
  --cache-registry "docker://$reg/cache/strata" --cache-trust "$WORK/trusted.pub" --cache-registry-required \
  >/dev/null 2>"$WORK/req.err") || rc=$?
expect_eq "--cache-registry-required: the build fails" 1 "$rc"
grep -q "(--cache-registry-required)" "$WORK/req.err" || { cat "$WORK/req.err"; fail "required: message"; }
[[ ! -e "$WORK/req/out/lib-and-app" ]] || fail "a failed build wrote output"
pass "a registry that is down warns once, or fails the build when required"

# Usage errors.
rc=0
"$STRATA" build "$WORK/a/src/strata.yaml" -o "$WORK/x" --cache-trust "$WORK/trusted.pub" >/dev/null 2>&1 || rc=$?
expect_eq "--cache-trust without --cache-registry is a usage error" 2 "$rc"
rc=0
"$STRATA" build "$WORK/a/src/strata.yaml" -o "$WORK/x" --cache-registry "docker://$reg/cache/strata" >/dev/null 2>&1 || rc=$?
expect_eq "--cache-registry without a key is a usage error" 2 "$rc"
