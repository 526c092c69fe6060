#!/usr/bin/env bash
# Bad input: every broken spec gets a located error (file:line:col, the line, a caret) and
# exit code 2, and neither creates an output directory nor touches an existing image.
source "$(dirname "$0")/lib/e2e.sh"

spec_dir="$WORK/spec"
mkdir -p "$spec_dir/files"
echo hi >"$spec_dir/files/motd"
out="$WORK/out"

snapshot() { { find "$out" -printf '%p %s %T@\n' 2>/dev/null || true; } | sort | sha256sum; }

# check_bad NAME EXPECTED_LINE: $spec_dir/s.yaml must fail validate and build with exit 2,
# print EXPECTED_LINE, and leave $out exactly as it was.
check_bad() {
  local name=$1 expected=$2 before after rc
  before=$(snapshot)
  expect_spec_error "$name" "$spec_dir/s.yaml" "$out" "$expected"
  # The caret line sits under the reported column.
  local col caret
  col=$(sed -n 's/^[^:]*:[0-9]*:\([0-9]*\): error:.*/\1/p' "$WORK/stderr" | head -n1)
  caret=$(grep -m1 -n '^ *\^$' "$WORK/stderr" | cut -d: -f2)
  [[ -z "$col" || ${#caret} -eq $col ]] || fail "$name: caret at column ${#caret}, error says $col"
  after=$(snapshot)
  [[ "$before" == "$after" ]] || fail "$name: the output directory changed"
  pass "$name"
}

spec() { printf 'apiVersion: strata/v1\nname: t\n%s\n' "$1" >"$spec_dir/s.yaml"; }
S="$spec_dir/s.yaml"

# First with no output directory at all: a failure must not create it.
spec 'name: [oops'
check_bad "malformed YAML" "$S:3:12: error: end of sequence flow not found"
[[ ! -e "$out" ]] || fail "a failed build created $out"

# Then with a good image in place: failures must leave it untouched.
spec 'image: {layers: [{files: [{src: files/motd, dest: /etc/motd}]}]}'
"$STRATA" build "$S" -o "$out" 2>/dev/null >/dev/null || fail "the good spec does not build"

spec 'epoch: soon
image: {layers: [{files: [{src: files/motd, dest: /etc/motd}]}]}'
check_bad "wrong type" "$S:3:8: error: expected an integer, got 'soon'"

spec 'imgae: {}
image: {layers: [{files: [{src: files/motd, dest: /etc/motd}]}]}'
check_bad "unknown key" "$S:3:1: error: unknown key 'imgae'; did you mean 'image'?"

spec 'image: {layers: [{files: [{src: files/nope, dest: /etc/motd}]}]}'
check_bad "missing src" "$S:3:33: error: src 'files/nope' does not exist (looked in $spec_dir/files/nope)"

spec 'image: {layers: [{files: [{src: files/motd, dest: etc/motd}]}]}'
check_bad "dest outside /" "$S:3:51: error: dest 'etc/motd' must be an absolute path"

spec 'image: {layers: [{files: [{src: files/motd, dest: /etc/../../motd}]}]}'
check_bad ".. in a path" "$S:3:51: error: dest '/etc/../../motd' must not contain '..'"

spec 'image:
  layers:
    - files:
        - {src: files/motd, dest: /etc/motd}
        - {src: files/motd, dest: /etc/motd/}'
check_bad "duplicate dest" "$S:7:35: error: duplicate dest '/etc/motd' (first declared on line 6)"

spec 'image: {layers: [{files: [{src: files/motd, dest: /etc/motd, mode: "0999"}]}]}'
check_bad "invalid mode" "$S:3:68: error: mode '0999' is not an octal mode of 3 or 4 digits like \"0644\""

spec 'image: {layers: [{files: [{src: files/motd, dest: /etc/motd, uid: 4294967295}]}]}'
check_bad "uid out of range" "$S:3:67: error: expected an integer from 0 to 4294967294, got 4294967295"

# A path below a file: only the layer stage can see it (after the spec is valid).
spec 'image:
  layers: [{files: [{src: files/motd, dest: /etc/motd}]}]
  paths: [{path: /etc/motd/x, type: file, content: x}, {path: /etc/motd, type: file}]'
check_bad "path below a file" "$S:5:56: error: /etc/motd cannot be a file: other entries in this layer are below it, so it must be a directory"
spec 'image:
  layers: [{files: [{src: files/motd, dest: /etc/motd}]}]
  paths: [{path: /etc/x, type: file, content: x}, {path: /etc/x/y, type: directory}]'
check_bad "path below a file, file first" "$S:5:51: error: cannot create /etc/x/y: /etc/x is a file in this layer"

# Every error in the file is reported, not just the first.
spec 'nmae: x
image: {layers: [{files: [{src: nope, dest: rel, mode: "9"}]}]}'
"$STRATA" validate "$S" 2>"$WORK/stderr" && fail "several errors: validate passed"
expect_eq "all errors reported" "4" "$(grep -c ': error: ' "$WORK/stderr")"
grep -Fxq "4 errors in $S" "$WORK/stderr" && pass "error count summary" || fail "error count summary"

# Usage errors are exit code 2 as well.
rc=0; "$STRATA" build "$S" --compression lz4 -o "$out" 2>/dev/null || rc=$?
expect_eq "unknown --compression exit code" 2 "$rc"
rc=0; "$STRATA" build 2>/dev/null || rc=$?
expect_eq "missing SPEC exit code" 2 "$rc"

# A wrong or missing image pin is found before any package work: validate and build stop at
# the pin with a located digest mismatch, exit code 1 like every digest mismatch (a missing
# image is an I/O error, also 1). No package step runs and no package is cached.
spec 'image: {layers: [{files: [{src: files/motd, dest: /etc/motd}]}]}'
base=$("$STRATA" build "$S" -o "$WORK/base" 2>/dev/null | tail -n1) && [[ $base == sha256:* ]] ||
  fail "the base for the pin checks does not build"
zeros="sha256:$(printf '0%.0s' {1..64})"
pin_spec() {
  printf 'apiVersion: strata/v1\nname: t\nenvironment: {rootfs: %s}\nimage:\n  base: %s\n  layers: [{packages: [pkg]}]\npackages: [{name: pkg, steps: ["touch $DESTDIR/x"]}]\n' \
    "$1" "$2" >"$S"
}
check_pin() {  # check_pin NAME EXPECTED_LINE
  local cmd rc
  for cmd in validate build; do
    rc=0
    if [[ $cmd == build ]]; then
      "$STRATA" build "$S" -o "$out" --cache "$WORK/cache" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
    else
      "$STRATA" validate "$S" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
    fi
    [[ $rc -eq 1 ]] || { cat "$WORK/stderr"; fail "$1 ($cmd): exit code $rc, expected 1"; }
    grep -Fxq -- "$2" "$WORK/stderr" || { cat "$WORK/stderr"; fail "$1 ($cmd): missing '$2'"; }
    ! grep -q '^\[pkg\]' "$WORK/stderr" || { cat "$WORK/stderr"; fail "$1 ($cmd): a package ran"; }
  done
  [[ -z "$(find "$WORK/cache" -path '*pkg*' 2>/dev/null)" ]] || fail "$1: a package was cached"
  pass "$1"
}
pin_spec host "../base/t@$zeros"
check_pin "wrong base pin" "$S:5:9: error: image ../base/t: manifest digest mismatch: expected $zeros, actual $base"
pin_spec host "../base/nope@$base"
check_pin "missing base image" "$S:5:9: error: image ../base/nope: No such file or directory"
printf 'apiVersion: strata/v1\nname: t\nenvironment: {rootfs: image, image: "../base/t@%s"}\nimage:\n  layers: [{packages: [pkg]}]\npackages: [{name: pkg, steps: ["touch $DESTDIR/x"]}]\n' \
  "$zeros" >"$S"
check_pin "wrong environment pin" "$S:3:37: error: image ../base/t: manifest digest mismatch: expected $zeros, actual $base"
