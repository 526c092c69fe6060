#!/usr/bin/env bash
# Bounded memory and small leaks (issue 11 parts 6 and 8): `strata sandbox` takes everything
# after `--` as the command, even after --env/--bind/--bind-ro; the sandbox's /tmp and $HOME
# are tmpfs of a bounded size (default 1G, `tmpfs_size` per package, --tmpfs-size); a step
# that logs 200 MB on one line and fails gives a message under 64 KiB from a strata under
# 64 MiB of RSS; a dependency whose output has /build is refused when it is built, naming it
# and the path; pid 1 inside shows "strata-init", not strata's command line; as root and as
# uid 65534.
source "$(dirname "$0")/lib/e2e.sh"

probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
cache="$WORK/cache"

# (a) Everything after `--` is the command.
mkdir -p "$WORK/data"
echo bound >"$WORK/data/file"
expect_eq "--env then -- CMD" "ok 1" "$("$STRATA" sandbox --env A=1 -- sh -c 'echo ok $A')"
expect_eq "--bind then -- CMD" "bound" \
  "$("$STRATA" sandbox --bind "$WORK/data:/data" -- sh -c 'cat /data/file')"
expect_eq "--bind-ro then -- CMD with its own options" "bound -n" \
  "$("$STRATA" sandbox --bind-ro "$WORK/data:/data" --env B=2 -- sh -c 'echo $(cat /data/file) -n')"

# (b) /tmp and HOME are bounded tmpfs: 1G by default, --tmpfs-size otherwise.
expect_eq "default /tmp and HOME size (KiB)" "1048576 1048576" \
  "$("$STRATA" sandbox -- sh -c 'df -k /tmp /root | tail -n 2 | awk "{print \$2}" | xargs')"
rc=0
"$STRATA" sandbox --tmpfs-size 2M -- sh -c 'head -c 3000000 /dev/zero >/tmp/big' 2>"$WORK/err" || rc=$?
expect_eq "writing past --tmpfs-size fails" 1 "$rc"
grep -q "No space left on device" "$WORK/err" || { cat "$WORK/err"; fail "no ENOSPC past --tmpfs-size"; }
pass "past the tmpfs size: ENOSPC"

# (c) pid 1's command line: not strata's (which names host paths).
expect_eq "/proc/1/cmdline inside strata sandbox" "strata-init" \
  "$("$STRATA" sandbox --bind-ro "$WORK/data:/data" -- sh -c 'tr "\0" "\n" </proc/1/cmdline')"

# (d) A package's tmpfs_size bounds its steps' /tmp.
mkdir -p "$WORK/tmpfs"
cat >"$WORK/tmpfs/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: tmpfs
packages:
  - name: small
    tmpfs_size: 4M
    steps:
      - 'test "$(df -k /tmp | tail -n 1 | awk "{print \$2}")" = 4096'
      - 'test "$(df -k $HOME | tail -n 1 | awk "{print \$2}")" = 4096'
      - head -c 5000000 /dev/zero >/tmp/big
image:
  layers: [{packages: [small]}]
YAML
"$STRATA" validate "$WORK/tmpfs/strata.yaml" >/dev/null || fail "tmpfs_size does not validate"
rc=0
"$STRATA" build "$WORK/tmpfs/strata.yaml" -o "$WORK/out-tmpfs" --cache "$cache" 2>"$WORK/err" >/dev/null || rc=$?
expect_eq "step writing past tmpfs_size: exit code" 1 "$rc"
grep -q "package 'small' failed at step 3/3" "$WORK/err" && grep -q "No space left on device" "$WORK/err" ||
  { cat "$WORK/err"; fail "tmpfs_size: expected step 3/3 to fail with ENOSPC"; }
pass "tmpfs_size: the steps see its size, and the third step gets ENOSPC"
sed -i 's/tmpfs_size: 4M/tmpfs_size: 4Q/' "$WORK/tmpfs/strata.yaml"
rc=0
"$STRATA" validate "$WORK/tmpfs/strata.yaml" >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "invalid tmpfs_size: exit code" 2 "$rc"
grep -q "strata.yaml:5:17: error: tmpfs_size '4Q' is not a size" "$WORK/err" ||
  { cat "$WORK/err"; fail "invalid tmpfs_size: not a located spec error"; }
pass "invalid tmpfs_size is a located spec error"

# (e) A 200 MB log, all one line, then a failure: a short message, a small strata.
mkdir -p "$WORK/biglog"
cat >"$WORK/biglog/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: biglog
packages:
  - name: loud
    steps:
      - 'echo first line; head -c 200000000 /dev/zero | tr "\0" x; echo; echo "error: the end"; exit 5'
image:
  layers: [{packages: [loud]}]
YAML
rc=0
/usr/bin/time -f '%M' -o "$WORK/rss" "$STRATA" build "$WORK/biglog/strata.yaml" -o "$WORK/out-big" \
  --cache "$cache" 2>"$WORK/err" >/dev/null || rc=$?
expect_eq "200 MB log: exit code" 1 "$rc"
size=$(stat -c %s "$WORK/err")
((size < 65536)) || fail "the failure message is $size bytes (64 KiB at most)"
pass "the failure message is $size bytes"
rss_kib=$(tail -n 1 "$WORK/rss")
((rss_kib < 65536)) || fail "strata's peak RSS was $rss_kib KiB (64 MiB at most)"
pass "strata's peak RSS was $rss_kib KiB"
grep -q "| error: the end" "$WORK/err" &&
  grep -q "| …(earlier bytes cut)x\{512\}…([0-9]* bytes cut)$" "$WORK/err" ||
  { head -c 4096 "$WORK/err"; fail "the tail does not quote the last lines with the giant one cut"; }
pass "the tail quotes the last lines, the giant one cut"

# (f) A dependency whose output has /build: refused when built, naming it and the path.
mkdir -p "$WORK/dep"
cat >"$WORK/dep/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: dep
packages:
  - name: lib
    steps: ['mkdir -p $DESTDIR/build/x $DESTDIR/usr/lib']
  - name: app
    depends: [lib]
    steps: ['mkdir -p $DESTDIR/usr/bin']
image:
  layers: [{packages: [app]}]
YAML
rc=0
"$STRATA" build "$WORK/dep/strata.yaml" -o "$WORK/out-dep" --cache "$cache" 2>"$WORK/err" >/dev/null || rc=$?
expect_eq "dependency output with /build: exit code" 1 "$rc"
grep -q "package 'lib' is a dependency, and its output has /build" "$WORK/err" ||
  { cat "$WORK/err"; fail "the error does not name the dependency and the path"; }
! grep -q "mkdir /build/home" "$WORK/err" || fail "the sandbox's own mkdir failed instead"
pass "a dependency output with /build names the package and the path"

# (g) The same sandbox checks as uid 65534 (an unprivileged user's sandbox).
probe_nobody
if [[ -n "$NOBODY_SKIP" ]]; then
  echo "SKIP: as uid 65534: $NOBODY_SKIP"
else
  probe_sandbox as_nobody
  if [[ -n "$SANDBOX_SKIP" ]]; then
    echo "SKIP: $SANDBOX_SKIP"
  else
    expect_eq "as uid 65534: --env then -- CMD" "ok 1" \
      "$(cd / && as_nobody "$STRATA" sandbox --env A=1 -- sh -c 'echo ok $A')"
    expect_eq "as uid 65534: /tmp size and /proc/1/cmdline" "2048 strata-init" \
      "$(cd / && as_nobody "$STRATA" sandbox --tmpfs-size 2M -- sh -c \
        'echo $(df -k /tmp | tail -n 1 | awk "{print \$2}") $(tr "\0" "\n" </proc/1/cmdline)')"
  fi
fi
