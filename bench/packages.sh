#!/usr/bin/env bash
# Package build benchmark:
#  1. no-change rebuild of examples/lib-and-app (everything cached): wall time (target < 0.5 s);
#  2. full build of examples/c-hello with an empty cache, beside the same steps run by hand
#     without a sandbox (unpack the tarball, make, make install): the sandbox's overhead.
#   bench/packages.sh      (STRATA=path/to/strata, RUNS=10)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/.."
strata="${STRATA:-$src/build/builder/strata}"
runs="${RUNS:-10}"
work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# mean_ms CMD...: the mean wall time of $runs runs, in milliseconds.
mean_ms() {
  local total=0 start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    total=$((total + (end - start) / 1000))
  done
  echo $((total / runs / 1000))
}

"$strata" build "$src/examples/lib-and-app/strata.yaml" -o "$work/out" --cache "$work/cache" >/dev/null 2>&1
nochange=$(mean_ms "$strata" build "$src/examples/lib-and-app/strata.yaml" -o "$work/out" --cache "$work/cache")

full_strata() {
  rm -rf "$work/cache2" "$work/out2"
  "$strata" build "$src/examples/c-hello/strata.yaml" -o "$work/out2" --cache "$work/cache2" --jobs 1
}
by_hand() {
  rm -rf "$work/hand"
  mkdir -p "$work/hand/out"
  tar -xzf "$src/examples/c-hello/hello-1.0.tar.gz" -C "$work/hand" --strip-components=1
  make -C "$work/hand" -j1 LDFLAGS=-static CFLAGS=-O2
  make -C "$work/hand" install DESTDIR="$work/hand/out" PREFIX=/usr
}
full=$(mean_ms full_strata)
hand=$(mean_ms by_hand)

printf '%-52s %8s\n' "measurement" "mean"
printf '%-52s %6d ms   (target < 500 ms)\n' "no-change rebuild of examples/lib-and-app" "$nochange"
printf '%-52s %6d ms\n' "examples/c-hello, full build in the sandbox (strata)" "$full"
printf '%-52s %6d ms\n' "the same steps by hand, no sandbox, no image" "$hand"
printf '%-52s %8.2fx\n' "strata / by hand" "$(awk "BEGIN{print $full / $hand}")"
