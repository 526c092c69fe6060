#!/usr/bin/env bash
# Per-step overhead of a package build: one package of STEPS trivial steps (`true`), built
# from an empty cache with `rootfs: host`, beside the same number of steps run one by one
# under bubblewrap with the same shape (all namespaces, the host read-only, a fresh /proc,
# /dev and /tmp, a writable build directory below it). The package's fixed costs (the spec, the
# layer, the layout, the attestations) are taken out by building the same package with one
# step: strata's per-step figure is (time(STEPS) - time(1)) / (STEPS - 1).
# Target (issue 16 part 6): strata per step <= 1.0x bwrap per step.
#   bench/steps.sh [STEPS]      (STRATA=path/to/strata, RUNS=3; default 200 steps)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
steps="${1:-200}"
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib/measure.sh
source "$here/lib/measure.sh"

# spec N: a package of N `true` steps.
spec() {
  {
    printf 'apiVersion: strata/v1\nname: steps\nepoch: 1700000000\n'
    printf 'environment:\n  rootfs: host\n'
    printf 'packages:\n  - name: steps\n    version: "1"\n    steps:\n'
    for _ in $(seq "$1"); do printf '      - "true"\n'; done
    printf 'image:\n  layers:\n    - packages: [steps]\n'
  } >"$work/steps-$1.yaml"
}
spec 1
spec "$steps"

build() {  # build N: from an empty cache, one job
  rm -rf "$work/cache" "$work/out"
  "$strata" build "$work/steps-$1.yaml" -o "$work/out" --cache "$work/cache" --jobs 1
}
mkdir -p "$work/build"
by_bwrap() {  # N steps, one bwrap each
  for _ in $(seq "$1"); do
    bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp \
      --bind "$work/build" /tmp/build --chdir /tmp/build /bin/sh -e -c true || return 1
  done
}

# measure runs a command under /usr/bin/time: the functions run in a bash that inherits them.
export -f build by_bwrap
export strata work
read -r _ one one_rss < <(measure one bash -c 'build 1')
read -r _ many many_rss < <(measure many bash -c "build $steps")
read -r _ bw bw_rss < <(measure bwrap bash -c "by_bwrap $steps")

per_step=$(awk -v a="$many" -v b="$one" -v n="$steps" 'BEGIN { printf "%.2f", (a - b) * 1000 / (n - 1) }')
per_bwrap=$(awk -v a="$bw" -v n="$steps" 'BEGIN { printf "%.2f", a * 1000 / n }')
printf '%d steps, best of %d runs, uid %d, %s, %d CPUs\n\n' "$steps" "$runs" "$(id -u)" "$(uname -r)" "$(nproc)"
printf '%-40s %10s %10s\n' measurement "wall (s)" "peak RSS"
printf '%-40s %10s %7d KiB\n' "strata build, 1 step" "$one" "$one_rss"
printf '%-40s %10s %7d KiB\n' "strata build, $steps steps" "$many" "$many_rss"
printf '%-40s %10s %7d KiB\n' "bwrap, $steps runs" "$bw" "$bw_rss"
printf '\n%-40s %7s ms\n' "strata per step" "$per_step"
printf '%-40s %7s ms\n' "bwrap per step" "$per_bwrap"
awk -v a="$per_step" -v b="$per_bwrap" 'BEGIN { printf "%-40s %9.2fx  (target <= 1.0)\n", "strata / bwrap", a / b }'
