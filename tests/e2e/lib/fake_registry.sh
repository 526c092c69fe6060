# shellcheck shell=bash
# The fake registry (fake_registry.py) for the end-to-end tests: started on 127.0.0.1 and free
# ports, bounded in time and requests, killed by its pid. Source after e2e.sh and registry.sh
# (whose SERVER_PIDS and exit trap it uses).

FAKE_REGISTRY="$E2E_DIR/lib/fake_registry.py"

# start_fake NAME [FLAGS...]: a fake registry with the given fake_registry.py flags (add
# --layout DIR for content); sets FAKE_PORT, FAKE_TOKEN_PORT, FAKE_REDIRECT_PORT, FAKE_INFO
# ($WORK/NAME.info: also the tags and the target blob) and FAKE_LOG ($WORK/NAME.log, the
# request log). Waits (bounded) until it listens.
start_fake() {
  local name=$1 i
  shift
  FAKE_INFO="$WORK/$name.info" FAKE_LOG="$WORK/$name.log"
  rm -f "$FAKE_INFO" "$FAKE_LOG"
  python3 "$FAKE_REGISTRY" --info "$FAKE_INFO" --log "$FAKE_LOG" --max-seconds 300 "$@" \
    >"$WORK/$name.out" 2>&1 &
  SERVER_PIDS+=($!)
  FAKE_PID=$!
  for i in $(seq 100); do
    [[ -s $FAKE_INFO ]] && break
    kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/$name.out" >&2; fail "fake registry $name exited"; }
    sleep 0.1
  done
  [[ -s $FAKE_INFO ]] || fail "fake registry $name did not start"
  FAKE_PORT=$(fake_info port)
  FAKE_TOKEN_PORT=$(fake_info token_port)
  FAKE_REDIRECT_PORT=$(fake_info redirect_port)
}

# fake_info KEY [KEY...]: a value from the running fake's info file (fake_info tags hostile).
fake_info() {
  python3 - "$FAKE_INFO" "$@" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[k]
print("" if v is None else v)
PY
}

# stop_fake: kills the fake started last.
stop_fake() {
  kill "$FAKE_PID" 2>/dev/null || true
  wait "$FAKE_PID" 2>/dev/null || true
}
