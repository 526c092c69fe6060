#!/usr/bin/env bash
# The README's quickstart image runs (issue 12 part 10): examples/web is examples/hello plus
# busybox's httpd from the host; podman (through examples/podman.sh, the README's wrapper
# for VMs like these) runs it and it serves hello's site. Also: web's base pin is the golden
# hello digest, so the two examples cannot drift apart.
source "$(dirname "$0")/lib/e2e.sh"
require_static_busybox

expect_eq "examples/web pins the golden examples/hello" "$(golden hello.digest)" \
  "$(sed -n 's|^  base: ../out/hello@||p' "$SOURCE_DIR/examples/web/strata.yaml")"

# The examples as the README uses them, in a scratch copy (examples/out is theirs).
mkdir -p "$WORK/examples"
cp -r "$SOURCE_DIR/examples/hello" "$SOURCE_DIR/examples/web" "$WORK/examples/"
ex="$WORK/examples"
build_digest "$ex/hello/strata.yaml" "$ex/out" --cache "$WORK/cache" >/dev/null
web=$(build_digest "$ex/web/strata.yaml" "$ex/out" --cache "$WORK/cache" --archive)
[[ $web == sha256:* ]] || fail "build examples/web: $(tail -n 20 "$WORK/build.log")"
"$STRATA" pin --check --cache "$WORK/cache" "$ex/web/strata.yaml" >/dev/null ||
  fail "examples/web's pins are stale: $("$STRATA" pin --check --cache "$WORK/cache" "$ex/web/strata.yaml")"
pass "examples/web builds on examples/hello"

rc=0
client_podman_setup "$WORK/podman" || rc=$?
[[ $rc -eq 77 ]] && skip "podman cannot be used here"
trap 'client_podman_cleanup; rm -rf "$WORK"' EXIT
expect_eq "podman load names the image" "localhost/web:1.0" "$(client_podman_load "$ex/out/web.tar")"

# client_podman is examples/podman.sh on a throwaway store.
podman_sh() { client_podman "$@"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The README's line with a free port; where podman has no network for -p (no CNI/iptables),
# the host's network with httpd bound to 127.0.0.1 only.
name="strata-web-$$"
if ! podman_sh run --rm -d --name "$name" -p "127.0.0.1:$port:8080" localhost/web:1.0 >"$WORK/run.out" 2>&1; then
  echo "note: podman -p failed here ($(tail -n1 "$WORK/run.out")); using --network host" >&2
  podman_sh rm -f "$name" >/dev/null 2>&1 || true
  podman_sh run --rm -d --name "$name" --network host localhost/web:1.0 \
    -f -p "127.0.0.1:$port" -h /srv/www >"$WORK/run.out" 2>&1 || {
    # Can this machine run any container (the client library's static probe)? If not, the
    # quickstart cannot run here either: skip, saying so.
    probe=$(_client_podman_probe 2>&1) || skip "podman cannot run containers on this machine: $probe"
    fail "podman run web: $(cat "$WORK/run.out")"
  }
fi
trap 'podman_sh stop -t 1 "$name" >/dev/null 2>&1 || true; client_podman_cleanup; rm -rf "$WORK"' EXIT
page=""
for _ in $(seq 50); do
  page=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
  sleep 0.2
done
[[ $page == *"hello from strata"* ]] || fail "the web image served no page on 127.0.0.1:$port: '$page'; $(podman_sh logs "$name" 2>&1 | tail -n 5)"
pass "podman runs examples/web and it serves hello's site"
podman_sh stop -t 1 "$name" >/dev/null 2>&1 || fail "podman stop"
pass "the container stops"
