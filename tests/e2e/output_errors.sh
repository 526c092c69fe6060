#!/usr/bin/env bash
# Errors that name the culprit (issue 11 part 7): a fifo, a socket, or a name that is not
# UTF-8 in a package's $DESTDIR fails the build with exit 1, naming the package and the path
# inside $DESTDIR (escaped), never a temporary host path; a step that fills the disk names the
# package and the step, quotes what it printed, and leaves no work directory behind.
source "$(dirname "$0")/lib/e2e.sh"

probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
mkdir -p "$WORK/spec"

# spec NAME STEP: a spec whose one package runs STEP on the host rootfs.
spec() {
  cat >"$WORK/spec/strata.yaml" <<YAML
apiVersion: strata/v1
name: culprit
version: "1.0"
epoch: 1700000000
packages:
  - name: $1
    version: "1.0"
    license: MIT
    steps:
      - 'mkdir -p "\$DESTDIR/usr/lib"'
      - '$2'
image:
  layers:
    - packages: [$1]
YAML
}
# refused NAME STEP WANT: the build fails with exit 1 and stderr holds WANT.
refused() {
  local name=$1 step=$2 want=$3 rc=0
  spec "$name" "$step"
  "$STRATA" build "$WORK/spec/strata.yaml" -o "$WORK/out" --cache "$WORK/cache" \
    >/dev/null 2>"$WORK/stderr" || rc=$?
  [[ $rc -eq 1 ]] || { cat "$WORK/stderr" >&2; fail "$name: exit $rc, expected 1"; }
  grep -qF -- "$want" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "$name: stderr lacks: $want"; }
  ! grep -q "$WORK/cache/packages/tmp" "$WORK/stderr" || fail "$name: the message names a temporary host path"
  [[ -z "$(ls -A "$WORK/cache/packages/tmp")" ]] || fail "$name: a work directory was left behind"
  pass "$name: exit 1, names the package and the path in \$DESTDIR"
}

refused fifo 'mkfifo "$DESTDIR/usr/lib/fifo"' \
  "package 'fifo': storing its output (\$DESTDIR): /usr/lib/fifo is a fifo: layers may hold only files, directories and links"
if command -v python3 >/dev/null; then
  refused socket 'python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"$DESTDIR/usr/lib/sock\")"' \
    "package 'socket': storing its output (\$DESTDIR): /usr/lib/sock is a socket"
fi
refused not-utf8 'touch "$DESTDIR/usr/lib/bad$(printf "\377")"' \
  "package 'not-utf8': storing its output (\$DESTDIR): /usr/lib/bad\\xff: the name is not valid UTF-8"
refused surrogate 'touch "$DESTDIR/usr/lib/$(printf "\355\240\200")"' \
  "package 'surrogate': storing its output (\$DESTDIR): /usr/lib/\\xed\\xa0\\x80: the name is not valid UTF-8"
refused overlong 'touch "$DESTDIR/usr/lib/$(printf "\300\257")x"' \
  "package 'overlong': storing its output (\$DESTDIR): /usr/lib/\\xc0\\xafx: the name is not valid UTF-8"
refused link-target 'ln -s "$(printf "to\377")" "$DESTDIR/usr/lib/link"' \
  "package 'link-target': storing its output (\$DESTDIR): /usr/lib/link: the symlink's target 'to\\xff' is not valid UTF-8"

# A full disk: the cache on an 8 MiB tmpfs in a private mount namespace, and a step that
# prints more than fits. The step's log cannot be written; the error says whose step it was
# and what it printed, and the work directory is gone.
if [[ $EUID -ne 0 ]] || ! unshare -m --propagation private true 2>/dev/null; then
  echo "SKIP: disk-full check: needs root and unshare -m"
  exit 0
fi
spec full 'yes started-the-flood | head -c 16777216'
rc=0
unshare -m --propagation private bash -c '
  mkdir -p "$1" && mount -t tmpfs -o size=8m tmpfs "$1" || exit 99
  "$3" build "$2/spec/strata.yaml" -o "$2/out" --cache "$1" >/dev/null 2>"$2/stderr"
  rc=$?
  ls -A "$1/packages/tmp" >"$2/leftovers" 2>/dev/null
  exit $rc' _ "$WORK/full-cache" "$WORK" "$STRATA" || rc=$?
[[ $rc -ne 99 ]] || { echo "SKIP: disk-full check: cannot mount a tmpfs here"; exit 0; }
[[ $rc -eq 1 ]] || { cat "$WORK/stderr" >&2; fail "disk full: exit $rc, expected 1"; }
grep -qF "package 'full' failed at step 2/2" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "disk full: no package and step"; }
grep -qF "No space left on device" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "disk full: no ENOSPC cause"; }
grep -qF "started-the-flood" "$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "disk full: what the step printed is not quoted"; }
pass "disk full: names the package and the step, quotes the log"
[[ ! -s "$WORK/leftovers" ]] || fail "disk full: work directory left behind: $(cat "$WORK/leftovers")"
pass "disk full: the failed build's work directory is removed"
