#!/usr/bin/env bash
# Registry cache benchmark (issue 14): a spec of $PACKAGES packages, each installing
# $SIZE_MB MB of random bytes (so compression hides no transfer), against Debian's
# docker-registry on 127.0.0.1:
#   cold         machine A: empty cache, builds every package and pushes each entry (signed);
#   2nd machine  machine B: empty cache, trusts A's key, takes every layer from the registry
#                by its inputs (i-<key> entries) and so downloads no package output;
#   no-change    machine B again: every layer in its local cache;
# beside `skopeo copy` of the same cache entries into an OCI layout: the package outputs
# (every p-<key> tag), and the layers the second machine downloads (every i-<key> tag): the
# time to download them with the tool users would pick. Prints wall time and peak RSS, best
# of $RUNS, and the ratios to both downloads (target <= 1.2x); checks from --json that the
# second machine ran no step, compressed no layer and fetched no package output.
#   bench/cache.sh [PACKAGES] [SIZE_MB]      (STRATA=path/to/strata, RUNS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
packages="${1:-4}"
size_mb="${2:-25}"
runs="${RUNS:-3}"
for tool in skopeo; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (.ci/install-deps)" >&2; exit 1; }
done
# shellcheck source=lib/registry.sh
source "$here/lib/registry.sh"

echo "making $packages packages of ~${size_mb} MB each ..." >&2
spec="$work/spec"
mkdir -p "$spec"
{
  printf 'apiVersion: strata/v1\nname: cachebench\nversion: "1.0"\nepoch: 1700000000\nsources:\n'
  for i in $(seq "$packages"); do
    mkdir -p "$spec/src$i"
    head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$spec/src$i/data"
    printf '  - name: src%s\n    path: src%s\n    sha256: %s\n' "$i" "$i" "$("$strata" hash "$spec/src$i" | sed 's/^sha256://; s/ .*//')"
  done
  printf 'packages:\n'
  for i in $(seq "$packages"); do
    printf '  - name: p%s\n    version: "1.0"\n    sources: [src%s]\n    steps:\n' "$i" "$i"
    printf '      - mkdir -p "$DESTDIR/usr/share/p%s" && cp data "$DESTDIR/usr/share/p%s/data"\n' "$i" "$i"
  done
  printf 'image:\n  layers:\n'
  for i in $(seq "$packages"); do printf '    - packages: [p%s]\n' "$i"; done
} >"$spec/strata.yaml"
"$strata" keygen --type ed25519 -o "$work/key" >/dev/null 2>&1

# build MACHINE: the strata build command line for machine MACHINE's cache, in $cmd.
build() {
  cmd=("$strata" build "$spec/strata.yaml" -o "$work/out-$1" --cache "$work/cache-$1" --json
    --cache-registry "docker://$reg/cache/bench")
}
# origins LABEL [packages|layers]: how many packages (or layer blobs) of LABEL's --json came
# from each place ("built=4").
origins() {
  python3 - "$work/$1.out" "${2:-packages}" <<'PY'
import collections, json, sys
c = collections.Counter(p["origin"] for p in json.load(open(sys.argv[1]))[sys.argv[2]])
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))
PY
}

for run in $(seq "$runs"); do
  echo "run $run of $runs ..." >&2
  start_registry
  rm -rf "$work"/cache-* "$work"/out-*
  build a
  timed "cold" "${cmd[@]}" --cache-sign-key "$work/key.key"
  build b
  timed "2nd machine" "${cmd[@]}" --cache-trust "$work/key.pub"
  [[ $(origins "2nd machine") == "registry-cache=$packages" ]] ||
    { echo "the second machine did not take every output from the registry: $(origins "2nd machine")" >&2; exit 1; }
  ! grep -q "taken from the registry cache .*(p-" "$work/err" ||
    { echo "the second machine downloaded a package output" >&2; exit 1; }
  [[ $(origins "2nd machine" layers) == "registry-cache=$packages" ]] ||
    { echo "the second machine compressed layers itself: $(origins "2nd machine" layers)" >&2; exit 1; }
  timed "no-change" "${cmd[@]}" --cache-trust "$work/key.pub"
  # Its packages are looked up in the registry again (their outputs were never downloaded);
  # its layers are all in its own cache.
  [[ $(origins "no-change" layers) == "local-cache=$packages" ]] ||
    { echo "the no-change build's layers were not all local hits: $(origins "no-change" layers)" >&2; exit 1; }
  for m in cold "2nd machine" no-change; do
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest_digest"])' "$work/$m.out"
  done | sort -u | wc -l | grep -qx 1 || { echo "the three builds made different images" >&2; exit 1; }
  # The same entries downloaded by skopeo, one tag after another, into an empty layout: the
  # package outputs (p-), and the layers the second machine downloads (i-).
  all_tags=$(curl -sf "http://$reg/v2/cache/bench/tags/list" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["tags"]))')
  for kind in p all; do
    if [[ $kind == p ]]; then pattern='^p-'; else pattern='^i-'; fi
    tags=$(tr ' ' '\n' <<<"$all_tags" | grep -E "$pattern" | tr '\n' ' ')
    rm -rf "$work/home" "$work/skopeo-layout"
    mkdir -p "$work/home"
    cat >"$work/skopeo-all" <<EOF
#!/usr/bin/env bash
set -e
for t in $tags; do
  HOME="$work/home" skopeo copy --quiet --src-tls-verify=false "docker://$reg/cache/bench:\$t" "oci:$work/skopeo-layout:\$t"
done
EOF
    chmod +x "$work/skopeo-all"
    timed "skopeo copy $kind" "$work/skopeo-all"
  done
  stop_registries
done

read -r kt km <<<"$(best "skopeo copy p")"
read -r at am <<<"$(best "skopeo copy all")"
ratio() { awk "BEGIN{printf \"%.2fx\", $1 / ($2 > 0 ? $2 : 0.01)}"; }
printf '\n%-26s %9s %10s  %-20s %s\n' "command" "wall (s)" "peak RSS" "vs skopeo p-" "vs skopeo i- (target <= 1.2x)"
for op in cold "2nd machine" no-change; do
  read -r st sm <<<"$(best "$op")"
  printf '%-26s %9s %6d MiB  %-20s %s\n' "strata $op" "$st" "$((sm / 1024))" "$(ratio "$st" "$kt")" "$(ratio "$st" "$at")"
done
printf '%-26s %9s %6d MiB\n' "skopeo copy (p- entries)" "$kt" "$((km / 1024))"
printf '%-26s %9s %6d MiB\n' "skopeo copy (i- entries)" "$at" "$((am / 1024))"
echo
echo "best of $runs runs; $packages packages of ~${size_mb} MB random bytes; docker-registry on 127.0.0.1 (plain HTTP)"
echo "the second machine ran no step, compressed no layer and downloaded no package output (every layer from the registry cache by its inputs), and all builds gave one digest"
