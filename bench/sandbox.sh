#!/usr/bin/env bash
# Start-to-exit latency of `strata sandbox -- /bin/true` beside bubblewrap and unshare(1).
# Usage: bench/sandbox.sh [STRATA_BINARY] [RUNS]   (default: build/builder/strata, 200 runs)
# Uses hyperfine when it is installed (apt install hyperfine), else a date +%s%N loop.
# Target (issue 3): strata within 1.5x of bubblewrap.
set -euo pipefail
cd "$(dirname "$0")/.."

strata=${1:-build/builder/strata}
runs=${2:-200}
[ -x "$strata" ] || { echo "bench/sandbox.sh: $strata not built" >&2; exit 2; }

# strata-startup is `strata --version`: the cost of loading the strata binary itself (its
# shared libraries), which every strata command pays before the sandbox starts.
names=(strata bwrap unshare strata-startup)
commands=(
  "$strata sandbox -- /bin/true"
  "bwrap --unshare-all --ro-bind / / /bin/true"
  "unshare -Urmpnf --mount-proc /bin/true"
  "$strata --version"
)

mean_ms() {  # mean wall time in ms of `runs` runs of "$1"
  if command -v hyperfine >/dev/null; then
    local json
    json=$(mktemp)
    hyperfine -N --warmup 10 --runs "$runs" --export-json "$json" "$1" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$json"
    rm -f "$json"
  else
    local i start end
    for ((i = 0; i < 10; i++)); do $1 >/dev/null 2>&1; done
    start=$(date +%s%N)
    for ((i = 0; i < runs; i++)); do $1 >/dev/null 2>&1; done
    end=$(date +%s%N)
    awk -v d=$((end - start)) -v n="$runs" 'BEGIN { printf "%.3f\n", d / n / 1e6 }'
  fi
}

declare -A mean
for i in "${!names[@]}"; do
  if ! ${commands[$i]} >/dev/null 2>&1; then
    echo "bench/sandbox.sh: skipping ${names[$i]}: '${commands[$i]}' fails here" >&2
    continue
  fi
  mean[${names[$i]}]=$(mean_ms "${commands[$i]}")
done

tool=$(command -v hyperfine >/dev/null && echo hyperfine || echo "date loop")
printf '%d runs each (%s), uid %d, %s\n\n' "$runs" "$tool" "$(id -u)" "$(uname -r)"
printf '%-16s %12s %10s\n' command "mean (ms)" "vs bwrap"
for name in "${names[@]}"; do
  [ -n "${mean[$name]:-}" ] || continue
  ratio=-
  [ -n "${mean[bwrap]:-}" ] && ratio=$(awk -v a="${mean[$name]}" -v b="${mean[bwrap]}" 'BEGIN { printf "%.2fx", a / b }')
  printf '%-16s %12s %10s\n' "$name" "${mean[$name]}" "$ratio"
done
if [ -n "${mean[strata]:-}" ] && [ -n "${mean[strata-startup]:-}" ] && [ -n "${mean[bwrap]:-}" ]; then
  awk -v a="${mean[strata]}" -v s="${mean[strata-startup]}" -v b="${mean[bwrap]}" \
    'BEGIN { printf "\nstrata sandbox minus binary startup: %.3f ms (%.2fx bwrap)\n", a - s, (a - s) / b }'
fi
