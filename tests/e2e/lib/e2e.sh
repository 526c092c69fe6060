# shellcheck shell=bash
# Shared setup for the end-to-end scripts: strict mode, a scratch directory removed on exit,
# the strata binary ($STRATA, set by CTest), and small assertions that say what differed.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE_DIR="${STRATA_SOURCE_DIR:-$(cd "$E2E_DIR/../.." && pwd)}"
STRATA="${STRATA:-$SOURCE_DIR/build/builder/strata}"
[[ -x "$STRATA" ]] || { echo "FAIL: strata binary not found at $STRATA (set STRATA)" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/strata-e2e.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=clients.sh
source "$E2E_DIR/lib/clients.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  [[ "$2" == "$3" ]] || fail "$1: expected '$2', got '$3'"
  pass "$1"
}

# require_static_busybox: skips unless /bin/busybox is busybox-static; images that hold it
# alone cannot run Debian's dynamically linked busybox.
require_static_busybox() {
  [[ -x /bin/busybox ]] || skip "busybox-static is not installed"
  if LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
    skip "/bin/busybox is dynamically linked (install busybox-static)"
  fi
}

# expect_spec_error NAME SPEC OUT EXPECTED: `strata validate SPEC` and `strata build SPEC -o OUT`
# both exit 2 with the line EXPECTED on stderr, and build prints no digest. stderr stays in
# $WORK/stderr for further checks.
expect_spec_error() {
  local name=$1 spec=$2 out=$3 expected=$4 cmd rc
  for cmd in validate build; do
    rc=0
    if [[ $cmd == build ]]; then
      "$STRATA" build "$spec" -o "$out" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
    else
      "$STRATA" validate "$spec" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
    fi
    [[ $rc -eq 2 ]] || { cat "$WORK/stderr"; fail "$name ($cmd): exit code $rc, expected 2"; }
    grep -Fxq -- "$expected" "$WORK/stderr" || { cat "$WORK/stderr"; fail "$name ($cmd): missing '$expected'"; }
    [[ ! -s "$WORK/stdout" || $cmd == validate ]] || fail "$name: build printed a digest"
  done
}

# build_digest SPEC OUTDIR [ARGS...]: runs strata build and prints the manifest digest (stdout's
# last line); strata's progress goes to $WORK/build.log.
build_digest() {
  local spec=$1 out=$2
  shift 2
  "$STRATA" build "$spec" -o "$out" "$@" 2>>"$WORK/build.log" | tail -n 1
}

golden() { cat "$E2E_DIR/golden/$1"; }

# skip REASON: the whole test cannot run on this machine (CTest's SKIP_RETURN_CODE 77).
skip() { echo "SKIP: $*"; exit 77; }

# as_nobody CMD...: runs CMD as uid/gid 65534 with no supplementary groups (needs root).
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }

# probe_nobody: sets NOBODY_SKIP to why commands cannot run as uid 65534 here, or to "" when they
# can: root (to switch users), setpriv, $WORK reachable by that uid ($TMPDIR may lie below a
# 0700 directory such as /root) and $STRATA executable by it.
probe_nobody() {
  NOBODY_SKIP=""
  if [[ $EUID -ne 0 ]]; then NOBODY_SKIP="needs root to switch to uid 65534"; return; fi
  command -v setpriv >/dev/null || { NOBODY_SKIP="setpriv is not installed"; return; }
  chmod 755 "$WORK"
  as_nobody test -x "$WORK" || { NOBODY_SKIP="uid 65534 cannot reach $WORK (point TMPDIR elsewhere)"; return; }
  as_nobody test -x "$STRATA" || NOBODY_SKIP="uid 65534 cannot execute $STRATA"
}

# probe_sandbox [as_nobody]: sets SANDBOX_SKIP to why strata's sandbox cannot run here (strata
# exits 3: no user namespaces, for this user or at all, or AppArmor/seccomp blocks them), or to
# "" when `strata sandbox -- true` works. Any other failure is strata's, not the host's: FAIL.
# Run as root, it says nothing about uid 65534: pass as_nobody to probe that user.
probe_sandbox() {
  local rc=0
  (cd / && "$@" "$STRATA" sandbox -- true) 2>"$WORK/sandbox-probe.err" || rc=$?
  case $rc in
  0) SANDBOX_SKIP="" ;;
  3) SANDBOX_SKIP="strata's sandbox cannot run${1:+ as uid 65534}: $(head -n 1 "$WORK/sandbox-probe.err")" ;;
  *) cat "$WORK/sandbox-probe.err" >&2; fail "strata sandbox -- true${1:+ as uid 65534}: exit $rc" ;;
  esac
}

# umoci_unpack DIR TAG BUNDLE: umoci unpack, keeping owners as root and --rootless (every owner
# becomes the caller) otherwise; for checks that do not look at owners.
umoci_unpack() {
  if [[ $EUID -eq 0 ]]; then client_umoci_unpack "$@"; else client_umoci_unpack_rootless "$@"; fi
}
