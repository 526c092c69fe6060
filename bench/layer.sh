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
# Then the scaling table (issue 16 part 5): the same layer (--compression none) at several
# sizes beside `tar --sort=name | sha256sum` on the same tree, with wall time, time per file,
# time per byte and peak RSS. SCALE picks the cases (default "20k"; "none" skips the table):
#   SCALE="20k 200k 1m 4g" bench/layer.sh     20k/200k/1m: that many ~1 KiB files; 4g: one
#                                             4 GiB file. SCALE_ONLY=1: only the table.
# A case is skipped, with a note, when the free space of $TMPDIR is below 3x its tree.
# STRATA_BEFORE=path/to/other/strata adds its row to each case (e.g. main's build, to compare).
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

# The spec of a one-layer image of the tree $1 (relative to the spec's directory).
write_spec() {
  cat <<YAML
apiVersion: strata/v1
name: bench
epoch: 1700000000
image:
  layers:
    - files: [{src: $1, dest: /data}]
YAML
}

compare() {
echo "making a ${files}-file, ~${size_mb} MB tree ..." >&2
python3 "$here/make_tree.py" "$work/tree" "$files" "$size_mb"
write_spec tree >"$work/strata.yaml"
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
}

# scale_case NAME: makes the case's tree, times strata and tar|sha256sum on it, prints a row
# of the table and removes the tree.
scale_case() {
  local name=$1 files size_mb one=""
  case $name in
    20k) files=20000 size_mb=20 ;;
    200k) files=200000 size_mb=200 ;;
    1m) files=1000000 size_mb=1000 ;;
    4g) files=1 size_mb=4096 one=--one-file ;;
    *) echo "SCALE: unknown case '$name' (20k, 200k, 1m, 4g)" >&2 && exit 2 ;;
  esac
  local need_kb=$((size_mb * 1024 * 3 + files * 8)) free_kb
  free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if ((free_kb < need_kb)); then
    printf '%-6s skipped: %d MiB free in %s, needs %d MiB\n' "$name" $((free_kb / 1024)) "$work" \
      $((need_kb / 1024)) >>"$work/scale"
    return
  fi
  local dir="$work/scale-$name"
  mkdir -p "$dir"
  echo "scaling case $name: making the tree ..." >&2
  if [[ -n $one ]]; then
    python3 "$here/make_tree.py" --one-file "$dir/tree" "$size_mb"
  else
    python3 "$here/make_tree.py" "$dir/tree" "$files" "$size_mb"
  fi
  write_spec tree >"$dir/strata.yaml"
  local count bytes
  count=$(find "$dir/tree" -type f | wc -l)
  bytes=$(du -sb --apparent-size "$dir/tree" | cut -f1)
  local rows=() label bin
  rows+=("$(measure "tar|sha256sum" bash -c "tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C '$dir/tree' -cf - . | sha256sum")")
  for label in strata ${STRATA_BEFORE:+before}; do
    [[ $label == strata ]] && bin=$strata || bin=$STRATA_BEFORE
    rows+=("$(measure "$label" bash -c 'rm -rf "$1/cache" "$1/out" && "$2" build "$1/strata.yaml" -o "$1/out" --cache "$1/cache" --compression none --jobs "$3"' \
      _ "$dir" "$bin" "$jobs")")
  done
  local r t m
  for r in "${rows[@]}"; do
    label=${r% * *}
    read -r t m <<<"${r##"$label" }"
    case $label in
      strata) label="strata --compression none" ;;
      before) label="STRATA_BEFORE" ;;
    esac
    awk -v n="$name" -v l="$label" -v t="$t" -v m="$m" -v c="$count" -v b="$bytes" 'BEGIN{
      per_file = c < 100 ? "-" : sprintf("%.2f", t * 1e6 / c)  # one big file: per byte only
      printf "%-6s %-26s %9d %9.2f %9s %9.3f %7d MiB\n", n, l, c, t, per_file,
        t * 1e9 / b, m / 1024}' >>"$work/scale"
  done
  rm -rf "$dir"
}

[[ ${SCALE_ONLY:-0} == 1 ]] || compare
scale="${SCALE:-20k}"
if [[ $scale != none ]]; then
  : >"$work/scale"
  for c in $scale; do scale_case "$c"; done
  printf '\n%-6s %-26s %9s %9s %9s %9s %11s\n' case command files "wall (s)" "us/file" "ns/byte" "peak RSS"
  cat "$work/scale"
  echo
  echo "scaling: best of $runs runs, --compression none, --jobs $jobs; strata's time and RSS include the SBOM and provenance"
fi
