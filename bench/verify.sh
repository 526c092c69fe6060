#!/usr/bin/env bash
# Verifier benchmark on one large layer (default 20,000 files, 100 MB):
#   - `strata diff` of two images that differ in one file, beside the plain way to find that
#     file: unpack both layers and `diff -r` the trees;
#   - `strata diff` of two identical images, beside `sha256sum` of both images' blobs (the
#     least any comparison that trusts nothing must do);
#   - `strata verify` (checks, rebuild, compare) beside `strata build` of the same spec.
# Prints wall time and peak RSS for each, and the ratio to its baseline.
#   bench/verify.sh [FILES] [SIZE_MB]      (STRATA=path/to/strata, RUNS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="$(realpath "${STRATA:-$here/../build/builder/strata}")"
files="${1:-20000}"
size_mb="${2:-100}"
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib/measure.sh
source "$here/lib/measure.sh"

echo "making a ${files}-file, ~${size_mb} MB tree and three images of it ..." >&2
python3 "$here/make_tree.py" "$work/proj/tree" "$files" "$size_mb"
cat >"$work/proj/strata.yaml" <<YAML
apiVersion: strata/v1
name: bench
epoch: 1700000000
image:
  layers:
    - files: [{src: tree, dest: /data}]
YAML
cd "$work/proj"
"$strata" build strata.yaml -o "$work/a" >/dev/null 2>&1
"$strata" build strata.yaml -o "$work/same" >/dev/null 2>&1
cp -r "$work/proj" "$work/proj2"
changed=$(cd "$work/proj2/tree" && find . -type f | sort | sed -n '2p')
echo "one more line" >>"$work/proj2/tree/$changed"
(cd "$work/proj2" && "$strata" build strata.yaml -o "$work/b" >/dev/null 2>&1)

layer_blob() {  # layer_blob LAYOUT: path of the first layer's blob
  python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/index.json"))["manifests"][0]["digest"].split(":")[1]
print(d + "/blobs/sha256/" + json.load(open(f"{d}/blobs/sha256/{m}"))["layers"][0]["digest"].split(":")[1])
PY
}
blob_a=$(layer_blob "$work/a/bench")
blob_b=$(layer_blob "$work/b/bench")
untar_diff='rm -rf "$0/x" "$0/y"; mkdir "$0/x" "$0/y"; tar -xzf "$1" -C "$0/x"; tar -xzf "$2" -C "$0/y"; diff -r "$0/x" "$0/y" >/dev/null; [ $? -le 1 ]'
# strata diff exits 1 when the images differ: that is the expected answer here.
strata_diff='"$0" diff "$1" "$2" >/dev/null; [ $? -le 1 ]'

results=()
results+=("$(measure "tar -x both + diff -r" bash -c "$untar_diff" "$work" "$blob_a" "$blob_b")")
results+=("$(measure "strata diff (1 file differs)" bash -c "$strata_diff" "$strata" "$work/a/bench" "$work/b/bench")")
results+=("$(measure "sha256sum of both images" bash -c 'sha256sum "$0"/blobs/sha256/* "$1"/blobs/sha256/*' "$work/a/bench" "$work/same/bench")")
results+=("$(measure "strata diff (identical)" "$strata" diff "$work/a/bench" "$work/same/bench")")
# A cold build (empty cache: every layer compressed, as strata verify's rebuild does).
results+=("$(measure "strata build" bash -c 'rm -rf "$1/cold-cache" && "$2" build strata.yaml -o "$1/rebuild" --cache "$1/cold-cache"' _ "$work" "$strata")")
results+=("$(measure "strata verify" "$strata" verify "$work/a/bench" --provenance "$work/a/bench.provenance.json")")

printf '\n%-32s %10s %12s %14s\n' "command" "wall (s)" "peak RSS" "vs baseline"
for i in "${!results[@]}"; do
  r=${results[$i]}
  label=${r% * *}
  read -r t m <<<"${r##"$label" }"
  base=${results[$((i - i % 2))]}
  b=$(echo "$base" | awk '{print $(NF-1)}')
  printf '%-32s %10s %9d MiB %13.2fx\n' "$label" "$t" "$((m / 1024))" "$(awk "BEGIN{print $t / $b}")"
done
echo
echo "each strata line is compared with the baseline line above it (lower is better)"
