# shellcheck shell=bash
# Registries for the end-to-end tests: Debian's docker-registry (CNCF Distribution 2.8) with a
# config of the test's own, on 127.0.0.1 and a free port, started here and killed by its pid
# when the script exits. Source after e2e.sh.

SERVER_PIDS=()
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_servers; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

require_registry() {
  command -v docker-registry >/dev/null || skip "docker-registry is not installed"
}

# start_registry NAME [HTPASSWD]: a registry storing under $WORK/NAME-data; sets REG_PORT
# and REG_DATA. With HTPASSWD, Basic auth against that bcrypt file. Waits (bounded) until
# /v2/ answers.
start_registry() {
  local name=$1 htpasswd=${2:-} port attempt pid
  REG_DATA="$WORK/$name-data"
  mkdir -p "$REG_DATA"
  # A free port can be taken by another test's server before ours binds it: then ours exits
  # ("address already in use") while the other one answers. Only our live process counts, and
  # a registry that could not bind is started again on another port.
  for attempt in 1 2 3; do
    port=$(free_port)
    {
      echo "version: 0.1"
      echo "log: {level: error, accesslog: {disabled: true}}"
      echo "storage: {filesystem: {rootdirectory: $REG_DATA}, delete: {enabled: true}}"
      echo "http: {addr: 127.0.0.1:$port}"
      if [[ -n $htpasswd ]]; then
        echo "auth: {htpasswd: {realm: strata-test, path: $htpasswd}}"
      fi
    } >"$WORK/$name.yml"
    docker-registry serve "$WORK/$name.yml" >"$WORK/$name.log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    local i code
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/v2/" || true)
      if [[ $code == 200 || $code == 401 ]] && kill -0 "$pid" 2>/dev/null; then
        REG_PORT=$port
        return 0
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  done
  cat "$WORK/$name.log" >&2
  fail "docker-registry $name did not answer on 127.0.0.1:$port"
}

# skopeo_push LAYOUT REF: copies an OCI layout to the registry unchanged (same digests).
skopeo_push() {
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$1" "docker://$2" \
    >>"$WORK/skopeo.log" 2>&1 || { cat "$WORK/skopeo.log" >&2; fail "skopeo copy $1 -> $2"; }
}
