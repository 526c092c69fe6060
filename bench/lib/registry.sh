# shellcheck shell=bash
# Shared by the registry benchmarks (bench/registry.sh, bench/cache.sh): a scratch $work
# removed on exit with every registry started, fresh docker-registry instances on
# 127.0.0.1, and timing with /usr/bin/time.
#   start_registry     a new registry on a free port; sets $reg (HOST:PORT)
#   stop_registries    kills every registry started so far
#   timed LABEL CMD... one run's "seconds KiB" appended to $work/LABEL.runs, stdout kept in
#                      $work/LABEL.out
#   best LABEL         "seconds KiB" of LABEL's fastest run
for tool in docker-registry curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (.ci/install-deps)" >&2; exit 1; }
done
work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_registry: a fresh docker-registry on 127.0.0.1 and a free port; sets $reg.
n=0
start_registry() {
  n=$((n + 1))
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/reg$n"
  printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
    "$work/reg$n" "$port" >"$work/reg$n.yml"
  docker-registry serve "$work/reg$n.yml" >"$work/reg$n.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/v2/" && { reg="127.0.0.1:$port"; return; }
    sleep 0.1
  done
  echo "docker-registry did not start" >&2
  exit 1
}

stop_registries() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}

timed() {
  local label=$1
  shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$label.out" 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  cat "$work/time" >>"$work/$label.runs"
}

best() {
  sort -n "$work/$1.runs" | head -n 1
}
