#!/usr/bin/env bash
# The cache (docs/cache.md): examples/c-hello and examples/lib-and-app build into a fresh
# cache; `strata cache list` shows every entry with `du`'s size; `prune --dry-run` changes
# nothing; a prune to a size removes the least recently used entries first and leaves the
# rest usable; an entry a process holds a shared lock on is kept (and the exit code says the
# limit was not reached); `--explain-cache` says hit, miss with no previous key, miss after a
# prune, and names the changed field after a spec edit.
# Layer entries hold the image's blobs; a damaged one is reported and rewritten.
source "$(dirname "$0")/lib/e2e.sh"

probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
command -v flock >/dev/null || skip "flock(1) is not installed"
command -v jq >/dev/null || skip "jq is not installed"
cache="$WORK/cache"
build() { "$STRATA" build "$@" --cache "$cache" 2>"$WORK/stderr" | tail -n 1; }
list() { "$STRATA" cache list --json --cache "$cache"; }
snapshot() { (cd "$cache" && find . -printf '%p %s %T@\n' | sort); }
holder=""
trap '[[ -z "$holder" ]] || kill "$holder" 2>/dev/null; rm -rf "$WORK"' EXIT

# (a) Two specs into one cache. c-hello is built again last (a hit): its entries are then the
# most recently used, lib-and-app's the least.
build "$SOURCE_DIR/examples/c-hello/strata.yaml" -o "$WORK/out" --explain-cache hello >/dev/null ||
  { cat "$WORK/stderr"; fail "c-hello build"; }
grep -q "^strata: cache: package 'hello': miss, building (key sha256:[0-9a-f]*); no previous key is recorded for it in spec 'c-hello'$" "$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "first build: no 'no previous key' line"; }
pass "--explain-cache: a first build has no previous key"
build "$SOURCE_DIR/examples/lib-and-app/strata.yaml" -o "$WORK/out" >/dev/null ||
  { cat "$WORK/stderr"; fail "lib-and-app build"; }
sleep 0.1
build "$SOURCE_DIR/examples/c-hello/strata.yaml" -o "$WORK/out" --explain-cache hello >/dev/null
grep -q "^strata: cache: package 'hello': hit (key sha256:[0-9a-f]*, the same as last time)$" "$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "rebuild: no hit line"; }
pass "--explain-cache: an unchanged rebuild is a hit"

list >"$WORK/list.json"
expect_eq "entry kinds" "layer layer log log package package package source source source" \
  "$(jq -r '[.entries[].kind] | sort | join(" ")' "$WORK/list.json")"
# Every size is what du counts.
while read -r path size; do
  expect_eq "size of $path" "$(du -s -B1 "$cache/$path" | cut -f1)" "$size"
done < <(jq -r '.entries[] | "\(.path) \(.size)"' "$WORK/list.json")
# The most recently used: c-hello's package, its source and its layer (the blob the image
# holds); the hello entry's key.
hello=$(jq -r '.entries[] | select(.label == "hello") | .path' "$WORK/list.json")
hello_src=$(jq -r '.entries[] | select(.kind == "source") | .path' "$WORK/list.json" | tail -n 1)
hello_layer=$(jq -r '.entries[] | select(.kind == "layer") | .path' "$WORK/list.json" | tail -n 1)
layer_digest=$(jq -r '.layers[0].digest' "$WORK/out/c-hello/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/out/c-hello/index.json" | cut -d: -f2)")
expect_eq "the layer entry holds the image's layer" "$layer_digest" "$(jq -r .digest "$cache/$hello_layer/layer.json")"
recent=$(printf '%s\n' "$hello" "$hello_src" "$hello_layer" | sort | tr '\n' ' ' | sed 's/ $//')
expect_eq "most recently used entries" "$(jq -r '.entries[-3:] | map(.path) | sort | join(" ")' "$WORK/list.json")" "$recent"
# A layer whose blob was damaged is reported and written afresh; the image is the same.
d_before=$(jq -r '.manifests[0].digest' "$WORK/out/c-hello/index.json")
printf 'damaged' >"$cache/$hello_layer/blob"
build "$SOURCE_DIR/examples/c-hello/strata.yaml" -o "$WORK/out" >/dev/null || { cat "$WORK/stderr"; fail "build over a damaged layer entry"; }
grep -q "layer cache entry .* is damaged (its blob is sha256:[0-9a-f]* (7 bytes), not $layer_digest); rewritten" "$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "no warning about the damaged layer entry"; }
expect_eq "same image over a damaged layer entry" "$d_before" "$(jq -r '.manifests[0].digest' "$WORK/out/c-hello/index.json")"
expect_eq "the entry is rewritten" "$layer_digest" "sha256:$(sha256sum "$cache/$hello_layer/blob" | cut -d' ' -f1)"
pass "layer entries: the image's blob, kept and checked on use"
list >"$WORK/list.json"

# (b) --dry-run removes nothing and says what it would.
before=$(snapshot)
"$STRATA" cache prune --max-size 0 --dry-run --cache "$cache" >"$WORK/dry" || fail "dry run exit code"
expect_eq "dry run leaves the cache alone" "$before" "$(snapshot)"
expect_eq "dry run lists every entry" "$(jq '.entries | length' "$WORK/list.json")" "$(grep -c '^would remove \(package\|rootfs\|source\|log\|layer\) ' "$WORK/dry")"
grep -q "^would remove .* entries, .*; the cache would hold 0 B (limit 0 B)$" "$WORK/dry" || { cat "$WORK/dry"; fail "dry run total"; }
pass "dry run prints the plan and its total"

# (c) Prune to what the three most recent entries hold: everything older goes, oldest first.
keep=$(jq '[.entries[-3:][].size] | add' "$WORK/list.json")
"$STRATA" cache prune --max-size "$keep" --cache "$cache" >"$WORK/prune" || { cat "$WORK/prune"; fail "prune exit code"; }
expect_eq "prune removed the older entries in order" \
  "$(jq -r '.entries[:-3][].path' "$WORK/list.json")" \
  "$(sed -n 's/^removed [a-z]* \([^ :]*\).*/\1/p' "$WORK/prune")"
list >"$WORK/after.json"
expect_eq "what is left" "$(printf '%s\n' "$hello" "$hello_src" "$hello_layer" | sort)" "$(jq -r '.entries[].path' "$WORK/after.json" | sort)"
(( $(jq '.size' "$WORK/after.json") <= keep )) || fail "cache above the limit after prune"
pass "cache at most $keep bytes"
[[ -z "$(find "$cache" -name '.strata-stale-*')" ]] || fail "prune left stale entries"
build "$SOURCE_DIR/examples/c-hello/strata.yaml" -o "$WORK/out" >/dev/null || { cat "$WORK/stderr"; fail "c-hello after prune"; }
grep -q '^\[hello\] cached' "$WORK/stderr" && ! grep -q 'step' "$WORK/stderr" || { cat "$WORK/stderr"; fail "kept entry not used"; }
pass "the kept entries still serve a build"

# (d) An entry held by another process (a shared flock, as a running build holds it) is kept.
( exec 9<"$cache/$hello"; flock -s 9; exec sleep 300 ) &
holder=$!
for _ in $(seq 100); do flock -n -x "$cache/$hello" true 2>/dev/null || break; sleep 0.1; done
! flock -n -x "$cache/$hello" true 2>/dev/null || fail "the holder never took its lock"
rc=0
"$STRATA" cache prune --max-size 0 --cache "$cache" >"$WORK/held" 2>"$WORK/held.err" || rc=$?
expect_eq "prune exit code while an entry is held" 1 "$rc"
grep -q "^kept (in use by a running build) package $hello (hello): " "$WORK/held" || { cat "$WORK/held"; fail "held entry not reported"; }
grep -q "^strata: the cache stays above 0: 1 entries are in use by running builds$" "$WORK/held.err" || { cat "$WORK/held.err"; fail "held: no stderr note"; }
expect_eq "only the held entry is left" "$hello" "$(list | jq -r '.entries[].path')"
[[ -f "$cache/$hello/output.json" && -d "$cache/$hello/out" ]] || fail "held entry damaged"
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=""
"$STRATA" cache prune --max-size 0 --cache "$cache" >/dev/null || fail "prune after release"
expect_eq "released entry pruned" 0 "$(list | jq '.entries | length')"

# (e) --explain-cache after a prune, and after a spec edit.
cp -r "$SOURCE_DIR/examples/c-hello" "$WORK/ch"
build "$WORK/ch/strata.yaml" -o "$WORK/out" --explain-cache hello >/dev/null || { cat "$WORK/stderr"; fail "build after prune"; }
grep -q "^strata: cache: package 'hello': miss, building (key sha256:[0-9a-f]*, the same as last time: its entry was pruned or damaged)$" "$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "no 'pruned' explanation"; }
pass "--explain-cache: a pruned entry is named as such"
sed -i 's/CFLAGS: "-O2"/CFLAGS: "-O1"/' "$WORK/ch/strata.yaml"
build "$WORK/ch/strata.yaml" -o "$WORK/out" --explain-cache hello >/dev/null || { cat "$WORK/stderr"; fail "edited build"; }
grep -q "^strata: cache: package 'hello': miss, building (key sha256:[0-9a-f]*; last time sha256:[0-9a-f]*); the key's inputs changed:$" "$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "edited: no miss line"; }
grep -qxF '  /key/package/env/CFLAGS: "-O2" -> "-O1"' "$WORK/stderr" || { cat "$WORK/stderr"; fail "edited: no CFLAGS difference"; }
expect_eq "one difference explained" 1 "$(grep -c '^  /' "$WORK/stderr")"
rc=0
"$STRATA" build "$WORK/ch/strata.yaml" -o "$WORK/out" --cache "$cache" --explain-cache nosuch 2>"$WORK/stderr" >/dev/null || rc=$?
expect_eq "--explain-cache of an unknown package: exit code" 2 "$rc"
grep -q "^strata: error: --explain-cache nosuch: the spec has no package of that name$" "$WORK/stderr" || { cat "$WORK/stderr"; fail "unknown package message"; }

rc=0
"$STRATA" cache prune --max-size 12Q --cache "$cache" 2>"$WORK/stderr" || rc=$?
expect_eq "a bad SIZE: exit code" 2 "$rc"
pass "cache"
