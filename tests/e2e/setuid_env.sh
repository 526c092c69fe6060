#!/usr/bin/env bash
# Setuid files of an environment image stay out of other users' reach (issue 11 part 3): an
# image whose layer holds a setuid-root busybox is the `rootfs: image` environment of a build
# run as root. The layer keeps the bit; the unpacked copy in the cache has none, and its entry
# directory is 0500 (the package output it came from is in a 0700 store entry), so uid 65534
# can neither reach the file nor gain euid 0 through it. The build still works, as root and as
# uid 65534 (whose sandbox maps it to root over its own 0500 entry).
source "$(dirname "$0")/lib/e2e.sh"

require_static_busybox
probe_nobody
[[ -z "$NOBODY_SKIP" ]] || skip "$NOBODY_SKIP"
probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"

ex="$WORK/ex"
mkdir -p "$ex/env" "$ex/use"
sha=$("$STRATA" hash /bin/busybox | cut -d' ' -f1)
cat >"$ex/env/strata.yaml" <<YAML
apiVersion: strata/v1
name: suid-env
version: "1.0"
epoch: 1700000000
sources:
  - {name: busybox-bin, path: /bin/busybox, ${sha/:/: }}
packages:
  - name: busybox
    version: "1.35.0"
    license: GPL-2.0-only
    sources: [busybox-bin]
    steps:
      - install -D -m 0755 busybox "\$DESTDIR/bin/busybox"
      - for a in sh id ls test cat; do ln -s busybox "\$DESTDIR/bin/\$a"; done
      - install -D -m 4755 busybox "\$DESTDIR/opt/suid/id"
image:
  layers:
    - packages: [busybox]
YAML
env_digest=$("$STRATA" build "$ex/env/strata.yaml" -o "$ex/out" --cache "$WORK/cache" 2>"$WORK/stderr" | tail -n 1) ||
  { cat "$WORK/stderr"; fail "suid-env build"; }

# A package's stored output keeps the bit (the layer is made from it), so its store entry is
# closed to other users: it is the build's 0700 work directory, renamed.
suid_out=$(grep -l '"name":"busybox"' "$WORK/cache"/packages/*/output.json)
expect_eq "the store entry holding the setuid output" 700 "$(stat -c %a "$(dirname "$suid_out")")"

# The layer bytes keep the bit: the image is what its packages made.
python3 - "$ex/out/suid-env" <<'PY' && pass "the image's layer keeps opt/suid/id setuid root" || fail "the image's layer keeps opt/suid/id setuid root"
import json, sys, tarfile
layout = sys.argv[1]
blob = lambda d: f"{layout}/blobs/sha256/{d.split(':')[1]}"
idx = json.load(open(f"{layout}/index.json"))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
with tarfile.open(blob(man["layers"][0]["digest"])) as t:
    m = t.getmember("opt/suid/id")
assert m.mode & 0o4000 and m.uid == 0, (oct(m.mode), m.uid)
PY

cat >"$ex/use/strata.yaml" <<YAML
apiVersion: strata/v1
name: use
version: "1.0"
epoch: 1700000000
environment:
  rootfs: image
  image: ../out/suid-env@$env_digest
packages:
  - name: report
    version: "1.0"
    license: MIT
    steps:
      - test -x /opt/suid/id && test ! -u /opt/suid/id
      - mkdir -p "\$DESTDIR/etc" && id -u > "\$DESTDIR/etc/uid"
image:
  layers:
    - packages: [report]
YAML
"$STRATA" build "$ex/use/strata.yaml" -o "$ex/out" --cache "$WORK/cache" >/dev/null 2>"$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "build in the suid environment as root"; }
pass "a build in that environment succeeds as root"

entry="$WORK/cache/rootfs/sha256/${env_digest#sha256:}"
[[ -x "$entry/rootfs/opt/suid/id" ]] || fail "the environment is not where the test expects it: $entry"
expect_eq "cache entry mode" 500 "$(stat -c %a "$entry")"
expect_eq "setuid/setgid files in the unpacked environment" "" "$(find "$entry/rootfs" -perm /6000 -printf '%P\n')"
expect_eq "opt/suid/id's mode and owner in the unpacked environment" "755 root" "$(stat -c '%a %U' "$entry/rootfs/opt/suid/id")"
as_nobody test -x "$WORK/cache/rootfs/sha256" || fail "uid 65534 cannot reach CACHE/rootfs/sha256: the check below proves nothing"
# Through sh: setpriv itself execs with the capabilities it has not dropped yet, so
# `as_nobody FILE` would reach FILE whatever the directories' modes.
if as_nobody sh -c '"$1" -u' _ "$entry/rootfs/opt/suid/id" >"$WORK/nobody-id" 2>&1; then
  fail "uid 65534 ran the environment's setuid file: $(cat "$WORK/nobody-id")"
fi
grep -q "Permission denied" "$WORK/nobody-id" || fail "uid 65534: unexpected failure: $(cat "$WORK/nobody-id")"
! as_nobody ls "$entry" >/dev/null 2>&1 || fail "uid 65534 can list the cache entry"
pass "uid 65534 can neither reach nor run the environment's files"

# An entry from before entries were closed is closed on the next hit.
chmod 555 "$entry"
"$STRATA" build "$ex/use/strata.yaml" -o "$ex/out" --cache "$WORK/cache" >/dev/null 2>"$WORK/stderr" ||
  { cat "$WORK/stderr"; fail "rebuild on an old 0555 entry"; }
expect_eq "an old 0555 entry after a hit" 500 "$(stat -c %a "$entry")"

# As uid 65534, with its own cache: the 0500 entry it owns is reachable in its sandbox.
probe_sandbox as_nobody
if [[ -n "$SANDBOX_SKIP" ]]; then echo "SKIP: build as uid 65534: $SANDBOX_SKIP"; exit 0; fi
mkdir -p "$WORK/nobody"
cp -r "$ex/use" "$ex/out" "$WORK/nobody/"
chown -R 65534:65534 "$WORK/nobody"
as_nobody "$STRATA" build "$WORK/nobody/use/strata.yaml" -o "$WORK/nobody/out" --cache "$WORK/nobody/cache" \
  >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr"; fail "build in the suid environment as uid 65534"; }
nobody_entry="$WORK/nobody/cache/rootfs/sha256/${env_digest#sha256:}"
expect_eq "uid 65534's cache entry mode and owner" "500 nobody" "$(stat -c '%a %U' "$nobody_entry")"
expect_eq "setuid/setgid files in uid 65534's environment" "" "$(find "$nobody_entry/rootfs" -perm /6000 -printf '%P\n')"
pass "a build in that environment succeeds as uid 65534"
