#!/usr/bin/env bash
# Publishing and cleanup under kill -9, signals and concurrency (issue 11 parts 4 and 5):
# out/NAME, NAME.provenance.json, NAME.spdx.json and NAME.tar never describe different builds,
# whenever strata is stopped or killed (STRATA_TEST_PAUSE_AT, a test-only hook, stops it with
# SIGSTOP at a point of the publish); the next build of the name completes the set and leaves
# no temporary behind; two builds of one name wait for each other and never mix their sets;
# a build killed during a sandbox step leaves work dirs and a cgroup that the next run removes;
# SIGTERM/SIGINT during a step stop the build, remove its temporaries and end by the signal.
# The kill -9 recovery is also run as uid 65534.
source "$(dirname "$0")/lib/e2e.sh"

out="$WORK/out"
names_expected="demo demo.provenance.json demo.spdx.json demo.tar"

write_spec() {  # write_spec DIR CONTENT: a one-file image named demo
  mkdir -p "$1/files"
  printf '%s\n' "$2" >"$1/files/data"
  cat >"$1/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: demo
version: "1.0"
epoch: 1700000000
image:
  layers:
    - files:
        - {src: files/data, dest: /data}
YAML
}

# check_set [--complete]: every companion present describes out/demo's image; with --complete
# all of them are there.
check_set() {
  local what=$1 complete=${2:-}
  if [[ ! -d "$out/demo" ]]; then
    for f in demo.provenance.json demo.spdx.json demo.tar; do
      [[ ! -e "$out/$f" ]] || fail "$what: $f exists without out/demo"
    done
    [[ -z "$complete" ]] || fail "$what: out/demo missing"
    return 0
  fi
  local d subject tar_digest
  d=$(jq -r '.manifests[0].digest' "$out/demo/index.json")
  if [[ -e "$out/demo.provenance.json" ]]; then
    subject=$(jq -r '.subject[0].digest.sha256' "$out/demo.provenance.json")
    [[ "sha256:$subject" == "$d" ]] || fail "$what: provenance names sha256:$subject, out/demo holds $d"
  elif [[ -n "$complete" ]]; then fail "$what: demo.provenance.json missing"; fi
  if [[ -e "$out/demo.spdx.json" ]]; then
    grep -q "${d#sha256:}" "$out/demo.spdx.json" || fail "$what: the SBOM does not describe $d"
  elif [[ -n "$complete" ]]; then fail "$what: demo.spdx.json missing"; fi
  if [[ -e "$out/demo.tar" ]]; then
    tar_digest=$(tar -xOf "$out/demo.tar" index.json | jq -r '.manifests[0].digest')
    [[ "$tar_digest" == "$d" ]] || fail "$what: demo.tar holds $tar_digest, out/demo $d"
  elif [[ -n "$complete" ]]; then fail "$what: demo.tar missing"; fi
  pass "$what: consistent set${complete:+ (complete)}"
}

no_leftovers() {  # no_leftovers WHAT: out/ holds the published set and nothing else
  local names
  names=$(cd "$out" && ls -A | sort | tr '\n' ' ')
  expect_eq "$1: out/ holds only the set" "$names_expected " "$names"
}

wait_stopped() {  # wait_stopped PID: until the process is stopped (SIGSTOP by the hook)
  for _ in $(seq 600); do
    [[ "$(ps -o stat= -p "$1" 2>/dev/null)" == T* ]] && return 0
    kill -0 "$1" 2>/dev/null || fail "process $1 ended before its pause point"
    sleep 0.1
  done
  fail "process $1 never reached its pause point"
}

wait_for_line() {  # wait_for_line FILE REGEX PID
  for _ in $(seq 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1" >&2; fail "process $3 ended before printing '$2'"; }
    sleep 0.1
  done
  fail "never printed '$2'"
}

build() { "$STRATA" build "$1/strata.yaml" -o "$out" --archive 2>>"$WORK/build.log" | tail -n 1; }

# (a) A kill -9 at each point of the publish: the set seen while stopped and after the kill
# is consistent; the next build of the name completes it and leaves nothing behind.
n=0
for point in journaled layout-swapped companion-moved; do
  n=$((n + 1))
  write_spec "$WORK/s$n" "old $point"
  build "$WORK/s$n" >/dev/null || { cat "$WORK/build.log"; fail "first build"; }
  write_spec "$WORK/s$n" "new $point"
  STRATA_TEST_PAUSE_AT=$point "$STRATA" build "$WORK/s$n/strata.yaml" -o "$out" --archive \
    >"$WORK/killed.out" 2>"$WORK/killed.err" &
  pid=$!
  wait_stopped "$pid"
  check_set "stopped at $point"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  check_set "killed at $point"
  ls -A "$out" | grep -q '^\.demo\.tmp-@' || fail "killed at $point: no staging directory left to recover from"
  write_spec "$WORK/s$n" "rebuilt $point"
  d=$(build "$WORK/s$n") || { cat "$WORK/build.log"; fail "rebuild after a kill at $point"; }
  check_set "rebuilt after a kill at $point" --complete
  expect_eq "rebuilt after a kill at $point: out/demo is the rebuild" "$d" \
    "$(jq -r '.manifests[0].digest' "$out/demo/index.json")"
  no_leftovers "rebuilt after a kill at $point"
done

# (b) Two builds of one name: the second waits for the first (one line says so), both exit 0,
# the set is the second's. SIGTERM while waiting ends the waiter promptly.
write_spec "$WORK/a" "build A"
write_spec "$WORK/b" "build B"
STRATA_TEST_PAUSE_AT=journaled "$STRATA" build "$WORK/a/strata.yaml" -o "$out" --archive \
  >"$WORK/a.out" 2>"$WORK/a.err" &
pa=$!
wait_stopped "$pa"
"$STRATA" build "$WORK/b/strata.yaml" -o "$out" --archive >"$WORK/t.out" 2>"$WORK/t.err" &
pt=$!
wait_for_line "$WORK/t.err" "waiting for another build of the same output" "$pt"
kill -TERM "$pt"
rc=0; wait "$pt" || rc=$?
expect_eq "SIGTERM while waiting for the lock: exit status" 143 "$rc"
"$STRATA" build "$WORK/b/strata.yaml" -o "$out" --archive >"$WORK/b.out" 2>"$WORK/b.err" &
pb=$!
wait_for_line "$WORK/b.err" "waiting for another build of the same output" "$pb"
expect_eq "the waiting line is printed once" 1 "$(grep -c 'waiting for another build' "$WORK/b.err")"
kill -CONT "$pa"
rc=0; wait "$pa" || rc=$?
expect_eq "first of two concurrent builds" 0 "$rc"
rc=0; wait "$pb" || rc=$?
expect_eq "second of two concurrent builds" 0 "$rc"
check_set "two concurrent builds" --complete
expect_eq "the second build's set is published" "$(tail -n 1 "$WORK/b.out")" \
  "$(jq -r '.manifests[0].digest' "$out/demo/index.json")"
no_leftovers "two concurrent builds"

# Unsynchronised rounds: whoever wins, the set is whole and one of the two.
for round in 1 2 3; do
  "$STRATA" build "$WORK/a/strata.yaml" -o "$out" --archive >"$WORK/a.out" 2>"$WORK/a.err" &
  pa=$!
  "$STRATA" build "$WORK/b/strata.yaml" -o "$out" --archive >"$WORK/b.out" 2>"$WORK/b.err" &
  pb=$!
  wait "$pa" || { cat "$WORK/a.err"; fail "round $round: build A failed"; }
  wait "$pb" || { cat "$WORK/b.err"; fail "round $round: build B failed"; }
  check_set "concurrent round $round" --complete
  d=$(jq -r '.manifests[0].digest' "$out/demo/index.json")
  [[ "$d" == "$(tail -n 1 "$WORK/a.out")" || "$d" == "$(tail -n 1 "$WORK/b.out")" ]] ||
    fail "round $round: out/demo is neither build's image"
done
no_leftovers "concurrent rounds"

# (a') The same as uid 65534: a kill -9 after the layout swap, then a rebuild by that user.
probe_nobody
if [[ -n "$NOBODY_SKIP" ]]; then
  echo "SKIP: uid 65534 part: $NOBODY_SKIP"
else
  nb="$WORK/nobody"
  mkdir -p "$nb"
  chown 65534:65534 "$nb"
  out="$nb/out"
  write_spec "$nb/s" "nobody old"
  as_nobody "$STRATA" build "$nb/s/strata.yaml" -o "$out" --archive >/dev/null 2>>"$WORK/build.log" ||
    { cat "$WORK/build.log"; fail "build as uid 65534"; }
  write_spec "$nb/s" "nobody new"
  # setpriv itself, not the as_nobody function: $! must be strata's pid, not a subshell's.
  setpriv --reuid 65534 --regid 65534 --clear-groups env STRATA_TEST_PAUSE_AT=layout-swapped \
    "$STRATA" build "$nb/s/strata.yaml" -o "$out" --archive >/dev/null 2>"$WORK/nobody.err" &
  pid=$!
  wait_stopped "$pid"
  check_set "uid 65534, stopped after the layout swap"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  d=$(as_nobody "$STRATA" build "$nb/s/strata.yaml" -o "$out" --archive 2>>"$WORK/build.log" | tail -n 1)
  check_set "uid 65534, rebuilt after a kill" --complete
  expect_eq "uid 65534: out/demo is the rebuild" "$d" "$(jq -r '.manifests[0].digest' "$out/demo/index.json")"
  no_leftovers "uid 65534, rebuilt after a kill"
fi

# (c) Package builds: a kill -9 during a sandbox step, then SIGTERM and SIGINT during one.
probe_sandbox
if [[ -n "$SANDBOX_SKIP" ]]; then
  echo "SKIP: package parts: $SANDBOX_SKIP"
  exit 0
fi
cache="$WORK/cache"
out="$WORK/out2"
write_pkg_spec() {  # write_pkg_spec DIR NAME STEP
  mkdir -p "$1"
  cat >"$1/strata.yaml" <<YAML
apiVersion: strata/v1
name: $2
packages:
  - name: $2-pkg
    steps:
      - '$3'
image:
  layers: [{packages: [$2-pkg]}]
YAML
}
sandbox_cgroups() {  # sandbox_cgroups PID: strata-sandbox cgroups of that strata process
  find /sys/fs/cgroup -maxdepth 4 -type d -name "strata-sandbox-@$1.*" 2>/dev/null || true
}
write_pkg_spec "$WORK/slow" slow 'sleep 120; mkdir -p $DESTDIR/x'
write_pkg_spec "$WORK/quick" quick 'mkdir -p $DESTDIR/y'

"$STRATA" build "$WORK/slow/strata.yaml" -o "$out" --cache "$cache" >"$WORK/k.out" 2>"$WORK/k.err" &
pk=$!
wait_for_line "$WORK/k.err" '^\[slow-pkg\] step 1/1' "$pk"
sleep 0.5
ls "$cache/packages/tmp" | grep -q "^slow-pkg-@$pk\." || fail "no work directory of the running build"
cgroups_before=$(sandbox_cgroups "$pk")
kill -9 "$pk"
wait "$pk" 2>/dev/null || true
[[ -n "$(ls "$cache/packages/tmp")" ]] || fail "kill -9 during a step: nothing was left to clean up"
"$STRATA" build "$WORK/quick/strata.yaml" -o "$out" --cache "$cache" >/dev/null 2>"$WORK/q.err" ||
  { cat "$WORK/q.err"; fail "build after a kill -9 during a step"; }
expect_eq "after a kill -9 during a step: CACHE/packages/tmp" "" "$(ls -A "$cache/packages/tmp")"
if [[ -n "$cgroups_before" ]]; then
  expect_eq "after a kill -9 during a step: the killed build's cgroups" "" "$(sandbox_cgroups "$pk")"
else
  echo "SKIP: cgroup part: the sandbox used no pids cgroup here (RLIMIT_NPROC instead)"
fi
[[ -z "$(find "$cache" -name '.strata-tmp-*' -o -name '.unpack-*' -o -name '.discard-*')" ]] ||
  fail "temporaries left in the cache"
pass "after a kill -9 during a step: no temporaries left"
[[ ! -e "$out/slow" ]] || fail "the killed build published out/slow"

for sig in TERM INT; do
  "$STRATA" build "$WORK/slow/strata.yaml" -o "$out" --cache "$cache" >"$WORK/s.out" 2>"$WORK/s.err" &
  ps_=$!
  wait_for_line "$WORK/s.err" '^\[slow-pkg\] step 1/1' "$ps_"
  sleep 0.5
  start=$SECONDS
  kill -"$sig" "$ps_"
  rc=0; wait "$ps_" || rc=$?
  expected=$((128 + $(kill -l "$sig")))
  expect_eq "SIG$sig during a step: exit status" "$expected" "$rc"
  ((SECONDS - start < 10)) || fail "SIG$sig during a step: took $((SECONDS - start)) s to stop"
  grep -q "interrupted by SIG$sig" "$WORK/s.err" || { cat "$WORK/s.err"; fail "SIG$sig: no message"; }
  expect_eq "SIG$sig during a step: CACHE/packages/tmp" "" "$(ls -A "$cache/packages/tmp")"
  expect_eq "SIG$sig during a step: its cgroups" "" "$(sandbox_cgroups "$ps_")"
  [[ ! -e "$out/slow" && -z "$(ls -A "$out" | grep -v '^quick')" ]] ||
    fail "SIG$sig during a step: out/ changed: $(ls -A "$out" | tr '\n' ' ')"
  pass "SIG$sig during a step: stopped and cleaned up"
done
