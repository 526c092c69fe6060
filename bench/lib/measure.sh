# shellcheck shell=bash
# Shared by the benchmarks. Needs $work (a scratch directory) and $runs.
# measure LABEL CMD...: best-of-$runs wall seconds and the peak RSS (KiB) of that run.
measure() {
  local label=$1 best="" rss=""
  shift
  for _ in $(seq "$runs"); do
    sync
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
      cat "$work/err" >&2
      exit 1
    }
    read -r t m <"$work/time"
    if [[ -z "$best" ]] || awk "BEGIN{exit !($t < $best)}"; then best=$t rss=$m; fi
  done
  echo "$label $best $rss"
}
