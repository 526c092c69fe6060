#!/usr/bin/env bash
# Registry benchmark (issue 13): a ~300 MB image (three layers of random bytes, so
# compression hides no transfer) pushed to and pulled from Debian's docker-registry on
# 127.0.0.1 by strata and by skopeo copy of the same layout, and a no-change re-push by each.
# Every push goes to a fresh registry (and skopeo gets a fresh HOME, so its blob-info cache
# cannot turn uploads into mounts); every pull into an empty cache. Prints wall time and peak
# RSS, best of $RUNS, and strata's ratio to skopeo. Targets: push and pull <= 1.0x skopeo,
# re-push < 0.5 s, peak RSS < 64 MiB whatever the image size.
#   bench/registry.sh [SIZE_MB]      (STRATA=path/to/strata, RUNS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
size_mb="${1:-300}"
runs="${RUNS:-3}"
for tool in skopeo; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (.ci/install-deps)" >&2; exit 1; }
done
# shellcheck source=lib/registry.sh
source "$here/lib/registry.sh"

echo "making a ~${size_mb} MB image ..." >&2
mkdir -p "$work/data"
layers=""
for i in 1 2 3; do
  head -c "$((size_mb * 1024 * 1024 / 3))" /dev/urandom >"$work/data/part$i"
  layers+="    - files: [{src: data/part$i, dest: /data/part$i}]"$'\n'
done
printf 'apiVersion: strata/v1\nname: bench\nversion: "1.0"\nepoch: 1700000000\nimage:\n  layers:\n%s' \
  "$layers" >"$work/strata.yaml"
"$strata" build "$work/strata.yaml" -o "$work/out" >/dev/null 2>&1
image="$work/out/bench"
du -sh "$image" >&2

for run in $(seq "$runs"); do
  echo "run $run of $runs ..." >&2
  start_registry
  timed "strata push" "$strata" push "$image" "docker://$reg/bench/app:1.0" --no-attestations
  timed "strata re-push" "$strata" push "$image" "docker://$reg/bench/app:1.0" --no-attestations
  rm -rf "$work/pull-cache" "$work/pulled"
  timed "strata pull" env XDG_CACHE_HOME="$work/pull-cache" "$strata" pull "docker://$reg/bench/app:1.0" -o "$work/pulled"
  start_registry
  rm -rf "$work/home"
  mkdir -p "$work/home"
  timed "skopeo push" env HOME="$work/home" skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$image:1.0" "docker://$reg/bench/app:1.0"
  timed "skopeo re-push" env HOME="$work/home" skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$image:1.0" "docker://$reg/bench/app:1.0"
  rm -rf "$work/skopeo-pulled"
  timed "skopeo pull" env HOME="$work/home" skopeo copy --quiet --preserve-digests --src-tls-verify=false \
    "docker://$reg/bench/app:1.0" "oci:$work/skopeo-pulled:1.0"
  stop_registries
done

printf '\n%-16s %9s %10s  %s\n' "command" "wall (s)" "peak RSS" "ratio to skopeo"
for op in push re-push pull; do
  read -r st sm <<<"$(best "strata $op")"
  read -r kt km <<<"$(best "skopeo $op")"
  printf '%-16s %9s %6d MiB  %s\n' "strata $op" "$st" "$((sm / 1024))" \
    "$(awk "BEGIN{printf \"%.2fx\", $st / ($kt > 0 ? $kt : 0.01)}")"
  printf '%-16s %9s %6d MiB\n' "skopeo $op" "$kt" "$((km / 1024))"
done
echo
echo "best of $runs runs; ~${size_mb} MB image, 3 random layers, docker-registry on 127.0.0.1 (plain HTTP)"
