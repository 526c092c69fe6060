#!/usr/bin/env bash
# Layer assembly benchmark: one large layer (default 20,000 files, 300 MB) built by strata
# with each compression, beside the shell pipelines that make an equivalent deterministic
# layer and its digest from the same tree, and beside buildah and umoci where installed:
#   tar --sort=name --mtime=@N --owner=0 --group=0 --numeric-owner | gzip -n -6 | sha256sum
#   ... | pigz -n -6 | sha256sum      ... | zstd -3 -T0 | sha256sum      ... | sha256sum
# Prints wall time, peak RSS and the blob size of each, and each strata run's ratio to its
# baseline: gzip to the pigz pipeline, zstd to zstd -T0, none to tar|sha256sum (issue 16's
# targets on 2 cores: <= 0.5, <= 0.7, <= 1.0).
#   bench/layer.sh [FILES] [SIZE_MB]      (STRATA=path/to/strata, RUNS=3, JOBS=CPU count)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
files="${1:-20000}"
size_mb="${2:-300}"
runs="${RUNS:-3}"
jobs="${JOBS:-$(nproc)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib/measure.sh
source "$here/lib/measure.sh"

echo "making a ${files}-file, ~${size_mb} MB tree ..." >&2
python3 "$here/make_tree.py" "$work/tree" "$files" "$size_mb"
cat >"$work/strata.yaml" <<YAML
apiVersion: strata/v1
name: bench
epoch: 1700000000
image:
  layers:
    - files: [{src: tree, dest: /data}]
YAML
du -sh "$work/tree" >&2

tar_cmd="tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C '$work/tree' -cf - ."
declare -A size=()
results=()
# pipeline LABEL FILTER: the tar piped through FILTER and sha256sum; then once more, untimed,
# to count the blob's size.
pipeline() {
  results+=("$(measure "$1" bash -c "$tar_cmd | $2 | sha256sum")")
  size[$1]=$(bash -c "$tar_cmd | $2 | wc -c")
}
pipeline "tar|gzip -6|sha256sum" "gzip -n -6"
if command -v pigz >/dev/null; then pipeline "tar|pigz -6|sha256sum" "pigz -n -6 -p $jobs"; fi
pipeline "tar|zstd -3 -T0|sha256sum" "zstd -q -3 -T0"
pipeline "tar|sha256sum" "cat"
layer_size() {  # the one layer blob of the strata layout in $1
  python3 -c 'import json,sys
d=sys.argv[1]; i=json.load(open(d+"/index.json"))["manifests"][0]["digest"].split(":")[1]
m=json.load(open(d+"/blobs/sha256/"+i)); print(m["layers"][0]["size"])' "$1"
}
for c in gzip zstd none; do
  label="strata --compression $c"
  # An empty cache each run: the layer is compressed every time, not copied from the layer
  # cache (docs/cache.md "Layer blobs").
  results+=("$(measure "$label" bash -c 'rm -rf "$1/cache" && "$2" build "$1/strata.yaml" -o "$1/out" --cache "$1/cache" --compression "$3" --jobs "$4"' \
    _ "$work" "$strata" "$c" "$jobs")")
  size[$label]=$(layer_size "$work/out/bench")
done
if command -v umoci >/dev/null; then
  # umoci insert: the tree as a new gzip layer of an empty image (one more layer per run).
  umoci init --layout "$work/umoci" && umoci new --image "$work/umoci:b"
  results+=("$(measure "umoci insert" umoci insert --rootless --image "$work/umoci:b" "$work/tree" /data)")
fi
if command -v buildah >/dev/null && buildah --storage-driver vfs --root "$work/buildah" from scratch >/dev/null 2>&1; then
  results+=("$(measure "buildah copy+commit" bash -c "b='buildah --storage-driver vfs --root $work/buildah --runroot $work/buildah-run'
    c=\$(\$b from scratch) && \$b copy \$c '$work/tree' /data >/dev/null &&
    \$b commit --timestamp 1700000000 \$c oci-archive:$work/buildah.tar >/dev/null && \$b rm \$c >/dev/null")")
else
  echo "buildah: not installed or cannot run here; skipped" >&2
fi

time_of() {
  for r in "${results[@]}"; do [[ ${r% * *} == "$1" ]] && { read -r t _ <<<"${r##"$1" }"; echo "$t"; }; done
}
printf '\n%-28s %9s %10s %12s  %s\n' "command" "wall (s)" "peak RSS" "blob (MB)" "ratio to baseline"
for r in "${results[@]}"; do
  label=${r% * *}
  read -r t m <<<"${r##"$label" }"
  case $label in
    "strata --compression gzip") base="tar|pigz -6|sha256sum" ;;
    "strata --compression zstd") base="tar|zstd -3 -T0|sha256sum" ;;
    "strata --compression none") base="tar|sha256sum" ;;
    *) base="" ;;
  esac
  ratio=""
  if [[ -n "$base" && -n "$(time_of "$base")" ]]; then
    ratio=$(awk "BEGIN{printf \"%.2fx %s\", $t / $(time_of "$base"), \"$base\"}")
  fi
  blob=${size[$label]:-}
  [[ -n "$blob" ]] && blob=$(awk "BEGIN{printf \"%.1f\", $blob / 1e6}")
  printf '%-28s %9s %6d MiB %12s  %s\n' "$label" "$t" "$((m / 1024))" "${blob:--}" "$ratio"
done
echo
echo "best of $runs runs; --jobs $jobs and pigz -p $jobs on $(nproc) CPUs; ratio = wall time / the baseline's"
