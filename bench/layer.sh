#!/usr/bin/env bash
# Layer assembly benchmark: one large layer (default 20,000 files, 300 MB) built by strata,
# beside the plain pipeline that makes an equivalent deterministic gzip layer:
#   tar --sort=name --mtime=@N --owner=0 --group=0 --numeric-owner | gzip -n -6 | sha256sum
# Prints wall time and peak RSS for each, and strata's ratio to the baseline.
#   bench/layer.sh [FILES] [SIZE_MB]      (STRATA=path/to/strata, RUNS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
files="${1:-20000}"
size_mb="${2:-300}"
runs="${RUNS:-3}"
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

baseline() {
  bash -c 'tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
    -C "$1" -cf - . | gzip -n -6 | sha256sum' _ "$work/tree"
}
export -f baseline 2>/dev/null || true

results=()
results+=("$(measure "tar|gzip -6|sha256sum" bash -c "tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C '$work/tree' -cf - . | gzip -n -6 | sha256sum")")
for c in gzip zstd none; do
  results+=("$(measure "strata --compression $c" "$strata" build "$work/strata.yaml" -o "$work/out" --compression "$c")")
done
results+=("$(measure "tar|zstd -3|sha256sum" bash -c "tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C '$work/tree' -cf - . | zstd -q -3 | sha256sum")")
results+=("$(measure "tar|sha256sum" bash -c "tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -C '$work/tree' -cf - . | sha256sum")")

base_gzip=$(echo "${results[0]}" | awk '{print $(NF-1)}')
base_zstd=$(echo "${results[4]}" | awk '{print $(NF-1)}')
base_none=$(echo "${results[5]}" | awk '{print $(NF-1)}')
printf '\n%-28s %10s %12s %14s\n' "command" "wall (s)" "peak RSS" "vs baseline"
for r in "${results[@]}"; do
  label=${r% * *}
  read -r t m <<<"${r##"$label" }"
  case $label in
    *gzip*) b=$base_gzip ;;
    *zstd*) b=$base_zstd ;;
    *) b=$base_none ;;
  esac
  printf '%-28s %10s %9d MiB %13.2fx\n' "$label" "$t" "$((m / 1024))" "$(awk "BEGIN{print $t / $b}")"
done
echo
echo "ratio = wall time / wall time of the plain pipeline with the same compression (lower is better)"
