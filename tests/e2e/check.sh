#!/usr/bin/env bash
# `strata build --check`: examples build reproducibly under the varied second build (exit 0,
# "reproducible DIGEST" last on stdout, the golden digest for hello); a spec whose package
# writes random bytes and the time is "not reproducible" (exit 1) and the output names those
# files; build 1's output stays intact; the check leaves nothing in its temporary directory.
# Also as uid 65534 when run as root.
source "$(dirname "$0")/lib/e2e.sh"

export TMPDIR="$WORK/tmp"  # --check's temporary directory goes here: checked empty below
mkdir -p "$TMPDIR"
cache="$WORK/cache"
tmp_is_empty() { [[ -z "$(ls -A "$TMPDIR")" ]] || fail "$1: left behind in TMPDIR: $(ls -A "$TMPDIR")"; }

# check SPEC OUT [ARGS...]: runs --check; stdout to $WORK/check.out, stderr to $WORK/check.err,
# and prints the exit code.
check() {
  local spec=$1 out=$2 rc=0
  shift 2
  "$STRATA" build "$spec" -o "$out" --cache "$cache" --check "$@" >"$WORK/check.out" \
    2>"$WORK/check.err" || rc=$?
  echo "$rc"
}

# (a) hello: no packages. Reproducible, with the golden digest, from the repository root.
rc=$(cd "$SOURCE_DIR" && check examples/hello/strata.yaml "$WORK/out-hello")
[[ $rc -eq 0 ]] || { cat "$WORK/check.err" "$WORK/check.out"; fail "hello --check exit code $rc"; }
expect_eq "hello --check verdict" "reproducible $(golden hello.digest)" "$(tail -n 1 "$WORK/check.out")"
for v in "umask: 022 -> 077" "TZ: " "LC_ALL: " "SOURCE_DATE_EPOCH: " "--jobs: " "inputs: "; do
  grep -qF "  $v" "$WORK/check.err" || fail "hello --check does not list the variation '$v'"
done
pass "hello --check lists its variations"
[[ -f "$WORK/out-hello/hello/index.json" && -f "$WORK/out-hello/hello.spdx.json" ]] ||
  fail "hello: build 1's output is missing"
tmp_is_empty "hello --check"
pass "hello --check leaves nothing in TMPDIR"

# With --attach the index also lists the provenance, which records the spec path build 2
# changes on purpose: that entry is not compared, the image and the SBOM artifact are. The
# compression reaches build 2 too (the zstd golden digest).
rc=$(cd "$SOURCE_DIR" && check examples/hello/strata.yaml "$WORK/out-attach" --attach --compression zstd)
[[ $rc -eq 0 ]] || { cat "$WORK/check.err" "$WORK/check.out"; fail "hello --check --attach exit code $rc"; }
expect_eq "hello --check --attach --compression zstd" "reproducible $(golden hello.zstd.digest)" \
  "$(tail -n 1 "$WORK/check.out")"
tmp_is_empty "hello --check --attach"

probe_sandbox
if [[ -n "$SANDBOX_SKIP" ]]; then
  echo "SKIP: package builds: $SANDBOX_SKIP"
  exit 0
fi

# (b) c-hello: build 2 rebuilds the package from source (packages/ is not shared).
rc=$(check "$SOURCE_DIR/examples/c-hello/strata.yaml" "$WORK/out-c")
[[ $rc -eq 0 ]] || { cat "$WORK/check.err" "$WORK/check.out"; fail "c-hello --check exit code $rc"; }
digest_c=$(build_digest "$SOURCE_DIR/examples/c-hello/strata.yaml" "$WORK/out-c2" --cache "$cache")
expect_eq "c-hello --check verdict" "reproducible $digest_c" "$(tail -n 1 "$WORK/check.out")"
tmp_is_empty "c-hello --check"

# (c) lib-and-app, --json: one object with a check member.
rc=$(check "$SOURCE_DIR/examples/lib-and-app/strata.yaml" "$WORK/out-lab" --json)
[[ $rc -eq 0 ]] || { cat "$WORK/check.err" "$WORK/check.out"; fail "lib-and-app --check exit code $rc"; }
python3 - "$WORK/check.out" <<'PY' || fail "lib-and-app --check --json"
import json, sys
out = json.load(open(sys.argv[1]))
c = out["check"]
assert c["reproducible"] is True, c
assert c["digest1"] == c["digest2"] == out["manifest_digest"], c
assert "diff" not in c, c
names = {v["name"] for v in c["variations"]}
assert {"umask", "TZ", "LC_ALL", "--jobs", "inputs", "cache"} <= names, names
PY
pass "lib-and-app --check --json: reproducible, both digests, the variations"
tmp_is_empty "lib-and-app --check"

# (d) A package that writes random bytes and the time: not reproducible, exit 1, the diff
# names both files; build 1's layout is intact and is the digest the verdict names first.
mkdir -p "$WORK/noisy"
cat >"$WORK/noisy/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: noisy
packages:
  - name: noise
    steps:
      - mkdir -p "$DESTDIR/etc"
      - echo stable >"$DESTDIR/etc/stable"
      - head -c 16 /dev/urandom | od -An -tx1 >"$DESTDIR/etc/random-id"
      - date +%s%N >"$DESTDIR/etc/build-time"
image:
  layers: [{packages: [noise]}]
YAML
rc=$(check "$WORK/noisy/strata.yaml" "$WORK/out-noisy")
expect_eq "non-reproducible spec: exit code" 1 "$rc"
grep -q '^not reproducible: build 1 sha256:[0-9a-f]\{64\}, build 2 sha256:[0-9a-f]\{64\}$' \
  <(tail -n 1 "$WORK/check.out") || fail "verdict line: $(tail -n 1 "$WORK/check.out")"
grep -q 'etc/random-id' "$WORK/check.out" && grep -q 'etc/build-time' "$WORK/check.out" &&
  ! grep -q 'etc/stable' "$WORK/check.out" && pass "the diff names the two varying files, only them" || fail "the diff names the two varying files, only them"
built=$(tail -n 1 "$WORK/check.out" | sed 's/^not reproducible: build 1 \(sha256:[0-9a-f]*\),.*/\1/')
layout_digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
  "$WORK/out-noisy/noisy/index.json")
expect_eq "build 1's layout is intact" "$built" "$layout_digest"
"$STRATA" inspect "$WORK/out-noisy/noisy" >/dev/null || fail "build 1's layout does not open"
tmp_is_empty "non-reproducible --check"

# (e) A package that records its environment, umask and time zone is reproducible: steps see
# the Plan's environment only, never what --check varies in the caller's. The exception is
# $JOBS, which --check varies on purpose: a package that records it is not reproducible.
mkdir -p "$WORK/env"
cat >"$WORK/env/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: env-probe
epoch: 1700000000
packages:
  - name: probe
    steps:
      - mkdir -p "$DESTDIR/etc"
      - env | grep -v -e '^_=' -e '^JOBS=' | sort >"$DESTDIR/etc/env"
      - umask >"$DESTDIR/etc/umask"
      - date -d @1700000000 >"$DESTDIR/etc/date"
image:
  layers: [{packages: [probe]}]
YAML
rc=$(check "$WORK/env/strata.yaml" "$WORK/out-env")
[[ $rc -eq 0 ]] || { cat "$WORK/check.err" "$WORK/check.out"; fail "env probe --check exit code $rc"; }
pass "steps see none of the varied environment, umask or time zone"
tmp_is_empty "env probe --check"

# (e2) A package that fails under one of the varied conditions (here $JOBS, which build 2
# changes from 1 to 2): exit 1, the message names the package, the step and the conditions,
# and build 2's logs are kept in the cache where it says.
mkdir -p "$WORK/jobs"
cat >"$WORK/jobs/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: jobs-probe
packages:
  - name: serial
    steps:
      - mkdir -p "$DESTDIR/etc"
      - 'if [ "$JOBS" != 1 ]; then echo "racy with $JOBS jobs" >&2; exit 3; fi; echo ok >"$DESTDIR/etc/ok"'
image:
  layers: [{packages: [serial]}]
YAML
rc=$(check "$WORK/jobs/strata.yaml" "$WORK/out-jobs" --jobs 1)
expect_eq "build 2 fails: exit code" 1 "$rc"
grep -qF "failed with exit status 1: package 'serial' failed at step 2/2" "$WORK/check.err" &&
  grep -qF -- "  --jobs: 1 -> 2" "$WORK/check.err" &&
  grep -qF "Build 2's logs are kept in $cache/logs/jobs-probe.check-build2 (build2.log, packages/)" "$WORK/check.err" ||
  { cat "$WORK/check.err"; fail "build 2's failure does not name the package, the step, the conditions and the logs"; }
grep -rqF "racy with 2 jobs" "$cache/logs/jobs-probe.check-build2/packages" ||
  fail "build 2's package log was not kept"
tmp_is_empty "failed build 2"
pass "a failed build 2 names the package, the step, the varied conditions and keeps its logs"

# (f) Unprivileged: the same checks as uid 65534, with the user's own cache and TMPDIR. Root
# can always make user namespaces; uid 65534 only where unprivileged ones are allowed.
probe_nobody
if [[ -z "$NOBODY_SKIP" ]]; then
  mkdir -p "$WORK/nobody/tmp" && cp -r "$SOURCE_DIR/examples/hello" "$SOURCE_DIR/examples/c-hello" "$WORK/nobody/"
  chown -R 65534:65534 "$WORK/nobody"
  examples=(hello)
  probe_sandbox as_nobody
  if [[ -z "$SANDBOX_SKIP" ]]; then examples+=(c-hello); else echo "SKIP: c-hello --check as uid 65534: $SANDBOX_SKIP"; fi
  for ex in "${examples[@]}"; do
    rc=0
    (cd "$WORK/nobody" && as_nobody env \
      TMPDIR="$WORK/nobody/tmp" HOME="$WORK/nobody" "$STRATA" build "$ex/strata.yaml" -o out \
      --check >"$WORK/nobody.out" 2>"$WORK/nobody.err") || rc=$?
    [[ $rc -eq 0 ]] || { cat "$WORK/nobody.err"; fail "$ex --check as uid 65534: exit code $rc"; }
    grep -q '^reproducible sha256:' <(tail -n 1 "$WORK/nobody.out") || fail "$ex as uid 65534"
    [[ -z "$(ls -A "$WORK/nobody/tmp")" ]] || fail "$ex as uid 65534 left files in TMPDIR"
    [[ $ex != hello ]] || expect_eq "hello --check as uid 65534" \
      "reproducible $(golden hello.digest)" "$(tail -n 1 "$WORK/nobody.out")"
  done
  pass "--check as uid 65534"
else
  echo "SKIP: --check as uid 65534: $NOBODY_SKIP"
fi
