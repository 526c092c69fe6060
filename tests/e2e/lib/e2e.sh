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

# build_digest SPEC OUTDIR [ARGS...]: runs strata build and prints the manifest digest (stdout's
# last line); strata's progress goes to $WORK/build.log.
build_digest() {
  local spec=$1 out=$2
  shift 2
  "$STRATA" build "$spec" -o "$out" "$@" 2>>"$WORK/build.log" | tail -n 1
}

golden() { cat "$E2E_DIR/golden/$1"; }
