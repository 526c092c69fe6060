#!/usr/bin/env bash
# Debian's reprotest on strata: examples/hello (files only) and examples/c-hello (a package
# built from source in the sandbox) are built twice by reprotest, the second time under every
# variation that works on this machine, and the artifacts (the layout, the provenance and the
# SBOM: everything under out/) must be bit-identical. A spec whose package writes random
# bytes must make reprotest fail, so a pass is not vacuous.
#
# Variations (reprotest(1) VARIATIONS) used when they work here:
#   environment, build_path, home, locales, exec_path, timezone, umask, aslr, kernel (setarch),
#   num_cpus (needs 2+ CPUs), time (needs faketime), fileordering (needs disorderfs and
#   /dev/fuse), domain_host (needs `unshare -r --uts`, i.e. unprivileged user namespaces).
# Always skipped:
#   user_group: reprotest runs the build through `sudo -h localhost -u USER`, which Debian 12's
#     sudo (1.9.13+) refuses ("a remote host may only be specified when listing privileges");
#     tests/e2e/check.sh and reproducible.sh build as uid 65534 with setpriv instead.
# Each build gets its own empty cache from mktemp, outside the build tree, so c-hello's
# package really is built twice (reprotest's build_path and fileordering variations move and
# FUSE-mount the tree, and the cache must not live there; see docs/reproducibility-check.md).
source "$(dirname "$0")/lib/e2e.sh"

command -v reprotest >/dev/null || { echo "SKIP: reprotest is not installed"; exit 77; }

vary="-all,+environment,+build_path,+home,+locales,+exec_path,+timezone,+umask,+aslr"
skipped=("user_group (reprotest's sudo -h localhost fails with Debian 12's sudo)")
add_or_skip() {  # add_or_skip VARIATION WHY-NOT CONDITION...
  local variation=$1 why=$2
  shift 2
  if "$@" >/dev/null 2>&1; then vary+=",+$variation"; else skipped+=("$variation ($why)"); fi
}
add_or_skip kernel "setarch does not run" setarch "$(uname -m)" true
add_or_skip num_cpus "only one CPU" test "$(nproc)" -gt 1
add_or_skip time "faketime is not installed" command -v faketime
add_or_skip fileordering "needs disorderfs and /dev/fuse" \
  bash -c 'command -v disorderfs && command -v fusermount && test -c /dev/fuse'
add_or_skip domain_host "unshare -r --uts does not work here" unshare -r --uts true
diff_args=()
command -v diffoscope >/dev/null || diff_args=(--no-diffoscope)
echo "reprotest variations: $vary"
for s in "${skipped[@]}"; do echo "SKIP variation: $s"; done

# run_reprotest NAME SPEC_DIR: copies SPEC_DIR and runs reprotest on it; exit code, log in
# $WORK/NAME.log.
run_reprotest() {
  local name=$1 rc=0
  cp -r "$2" "$WORK/$name"
  # The command runs in each build's copy of the tree; it must not leave its cache behind.
  local cmd="c=\$(mktemp -d); \"$STRATA\" build strata.yaml -o out --cache \"\$c\"; r=\$?; rm -rf \"\$c\"; exit \$r"
  (cd "$WORK/$name" && timeout 300 reprotest -v --vary="$vary" "${diff_args[@]}" \
    --store-dir "$WORK/$name.store" "$cmd" 'out/**') >"$WORK/$name.log" 2>&1 || rc=$?
  echo "$rc"
}

probe_sandbox
for example in hello c-hello; do
  if [[ $example == c-hello && -n "$SANDBOX_SKIP" ]]; then
    echo "SKIP: c-hello (package builds): $SANDBOX_SKIP"
    continue
  fi
  rc=$(run_reprotest "$example" "$SOURCE_DIR/examples/$example")
  [[ $rc -eq 0 ]] || { tail -n 60 "$WORK/$example.log"; fail "reprotest $example: exit code $rc"; }
  grep -q '^Reproduction successful' "$WORK/$example.log" || fail "reprotest $example: no verdict"
  for f in "out/$example/index.json" "out/$example.provenance.json" "out/$example.spdx.json"; do
    grep -q "  \./$f\$" "$WORK/$example.log" || fail "reprotest $example did not compare $f"
  done
  pass "reprotest $example: layout, provenance and SBOM identical"
done

# The harness detects a difference: random bytes in a package output fail reprotest.
if [[ -z "$SANDBOX_SKIP" ]]; then
  mkdir -p "$WORK/noisy-src"
  cat >"$WORK/noisy-src/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: noisy
packages:
  - name: noise
    steps:
      - mkdir -p "$DESTDIR/etc" && head -c 16 /dev/urandom | od -An -tx1 >"$DESTDIR/etc/random-id"
image:
  layers: [{packages: [noise]}]
YAML
  diff_args=(--no-diffoscope)  # only the verdict matters here
  rc=$(run_reprotest noisy "$WORK/noisy-src")
  [[ $rc -ne 0 ]] || { tail -n 30 "$WORK/noisy.log"; fail "reprotest passed a non-reproducible spec"; }
  pass "reprotest fails on a non-reproducible spec (exit code $rc)"
fi
