# shellcheck shell=bash
# Signed Debian repositories for the end-to-end tests, made here and served on 127.0.0.1:
#   debrepo_keys               a throw-away signing key in $GNUPGHOME (set by the caller) and
#                              its public keyring in $WORK/keyring.gpg
#   debrepo_make DIR [HOME]    DIR/dists/stable (InRelease, Release, Release.gpg) over a copy
#                              of ${POOL:-$WORK/pool}, signed with the key in HOME
#   debrepo_serve ROOT         an HTTP server for ROOT on a free port of 127.0.0.1, a bounded
#                              number of requests and a bounded lifetime; sets DEBREPO_BASE
#                              and DEBREPO_PID (the caller's EXIT trap kills it)
#   require_real_debs          skips unless the real Debian packages that
#                              tests/tools/fetch_test_debs.sh downloads are there; sets
#                              REAL_DEBS to their directory
# Needs e2e.sh (fail, skip) and $ARCH.

debrepo_keys() {
  mkdir -p -m 700 "$GNUPGHOME"
  gpg --batch --quiet --passphrase '' --quick-gen-key "strata test <repo@example.invalid>" \
    ed25519 sign never 2>/dev/null
  gpg --batch --quiet --export >"$WORK/keyring.gpg"
}

debrepo_make() {
  local dir=$1 home=${2:-$GNUPGHOME} dists="$1/dists/stable"
  mkdir -p "$dists/main/binary-$ARCH"
  cp -r "${POOL:-$WORK/pool}" "$dir/pool"
  (cd "$dir" && apt-ftparchive packages pool 2>/dev/null) >"$dists/main/binary-$ARCH/Packages"
  xz -k "$dists/main/binary-$ARCH/Packages"
  (cd "$dists" && apt-ftparchive -o APT::FTPArchive::Release::Origin=Debian \
    -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=bookworm \
    -o APT::FTPArchive::Release::Version=12.9 -o "APT::FTPArchive::Release::Architectures=$ARCH" \
    -o APT::FTPArchive::Release::Components=main release . >Release.new) &&
    mv "$dists/Release.new" "$dists/Release"
  GNUPGHOME=$home gpg --batch --quiet --yes --clearsign -o "$dists/InRelease" "$dists/Release"
  GNUPGHOME=$home gpg --batch --quiet --yes --detach-sign -o "$dists/Release.gpg" "$dists/Release"
}

debrepo_serve() {
  local root=$1 port
  cat >"$WORK/debrepo_serve.py" <<'PY'
import functools, http.server, sys, time
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
server.timeout = 1  # handle_request returns after a second without a request
print(server.server_address[1], flush=True)
deadline = time.monotonic() + 540
count = 0
while count < 5000 and time.monotonic() < deadline:
    server.handle_request(); count += 1
PY
  python3 "$WORK/debrepo_serve.py" "$root" >"$WORK/debrepo_port" 2>"$WORK/debrepo_server.log" &
  DEBREPO_PID=$!
  for _ in $(seq 100); do [[ -s $WORK/debrepo_port ]] && break; sleep 0.1; done
  port=$(head -n1 "$WORK/debrepo_port")
  [[ $port =~ ^[0-9]+$ ]] || fail "the test repository server did not start: $(cat "$WORK/debrepo_server.log")"
  DEBREPO_BASE="http://127.0.0.1:$port"
}

require_real_debs() {
  REAL_DEBS=${STRATA_TEST_DEBS:-/var/cache/strata-tests/debs}
  [[ -f $REAL_DEBS/.complete ]] ||
    skip "no real Debian packages in $REAL_DEBS (tests/tools/fetch_test_debs.sh, run by .ci/install-deps)"
}
