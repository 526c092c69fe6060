#!/usr/bin/env bash
# `strata pin` (docs/sources.md): stale and missing pins of url sources, path sources and a
# local base image are written in place, every other byte of the spec is kept, --check
# writes nothing and exits 1 while a pin is stale, and bad input exits 2.
source "$(dirname "$0")/lib/e2e.sh"

cd "$WORK"
mkdir -p spec/files spec/tree out
printf 'upstream 1\n' >upstream.txt
printf 'local file\n' >spec/files/a.txt
printf 'in a tree\n' >spec/tree/b.txt
hello=$(build_digest "$SOURCE_DIR/examples/hello/strata.yaml" out)
[[ $hello == sha256:* ]] || fail "build hello: $(cat "$WORK/build.log")"
stale=$(printf '0%.0s' {1..64})
url="file://$WORK/upstream.txt"

# Every form a pin can take: block with a comment after the url, flow, prefixed, quoted,
# missing, and a base image without its digest.
cat >spec/strata.yaml <<YAML
# a comment that must survive
apiVersion: strata/v1
name: pinned
version: "1"
sources:
  - name: up          # fetched
    url: $url   # keep this comment
  - {name: flow, url: "$url", sha256: "$stale"}
  - name: file
    path: files/a.txt
    sha256: sha256:$stale
  - name: tree
    path: tree
  - name: tree-pinned
    path: tree
    sha256: $stale
image:
  base: ../out/hello
  layers:
    - files: [{src: files/a.txt, dest: /a.txt}]
YAML
cp spec/strata.yaml before.yaml

# --check: every stale and missing pin named with its location, exit 1, nothing written.
rc=0
"$STRATA" pin --check --cache "$WORK/cache" spec/strata.yaml >check.out 2>&1 || rc=$?
expect_eq "pin --check exit status with stale pins" 1 "$rc"
cmp -s before.yaml spec/strata.yaml || fail "pin --check changed the spec"
grep -q "spec/strata.yaml:7:10: source 'up': unpinned, now sha256:" check.out || fail "no unpinned line for 'up': $(cat check.out)"
grep -q "source 'flow': stale: pinned sha256:$stale, now sha256:" check.out || fail "no stale line for 'flow'"
grep -q "image.base: unpinned, now $hello" check.out || fail "no line for image.base: $(cat check.out)"
grep -q "source 'tree': no sha256, pinned by its contents" check.out || fail "tree not reported as content-pinned"
grep -q "5 pins to update" check.out || fail "summary: $(cat check.out)"
pass "pin --check names every stale pin and writes nothing"

# pin: the digests written, every other byte kept.
"$STRATA" pin --cache "$WORK/cache" spec/strata.yaml >pin.out 2>&1 || fail "pin: $(cat pin.out)"
up=$(sha256sum upstream.txt | cut -d' ' -f1)
a=$(sha256sum spec/files/a.txt | cut -d' ' -f1)
t=$("$STRATA" hash spec/tree | cut -d: -f2 | cut -d' ' -f1)
sed -e "s|^    url: $url   # keep this comment\$|&\n    sha256: $up|" \
    -e "s|sha256: \"$stale\"|sha256: \"$up\"|" \
    -e "s|sha256:$stale|sha256:$a|" \
    -e "s|sha256: $stale|sha256: $t|" \
    -e "s|base: ../out/hello\$|base: ../out/hello@$hello|" before.yaml >expected.yaml
diff -u expected.yaml spec/strata.yaml || fail "pin rewrote more than the digests"
pass "pin writes the digests and keeps every other byte"
"$STRATA" validate spec/strata.yaml >/dev/null || fail "the pinned spec does not validate"
"$STRATA" pin --check --cache "$WORK/cache" spec/strata.yaml >check2.out || fail "pin --check after pin: $(cat check2.out)"
grep -q "every pin is current" check2.out || fail "check2: $(cat check2.out)"
pass "pin --check passes once pinned"
# The fetched blob went to the store, so the build needs no second download.
[[ -f "$WORK/cache/sources/sha256/$up" ]] || fail "pin did not store the fetched source"
"$STRATA" build spec/strata.yaml -o out2 --cache "$WORK/cache" --offline >/dev/null 2>&1 || fail "offline build after pin"
pass "pin stores what it fetched"

# An upstream change is stale again; --source pins only what it names.
printf 'upstream 2\n' >upstream.txt
printf 'tree edit\n' >spec/tree/b.txt
rc=0
"$STRATA" pin --check --cache "$WORK/cache" spec/strata.yaml >check3.out || rc=$?
expect_eq "pin --check after upstream change" 1 "$rc"
grep -q "source 'up': stale" check3.out || fail "up not stale: $(cat check3.out)"
"$STRATA" pin --source tree-pinned --cache "$WORK/cache" spec/strata.yaml >/dev/null || fail "pin --source"
grep -q "sha256: $up\$" spec/strata.yaml || fail "--source tree-pinned touched 'up'"
grep -q "sha256: $t\$" spec/strata.yaml && fail "--source tree-pinned did not pin tree-pinned"
pass "--source pins only the named pin"
# A content-pinned path gets a sha256 only when named.
"$STRATA" pin --source tree --cache "$WORK/cache" spec/strata.yaml >/dev/null || fail "pin --source tree"
t2=$("$STRATA" hash spec/tree | cut -d: -f2 | cut -d' ' -f1)
[[ $(grep -c "sha256: $t2\$" spec/strata.yaml) == 2 ]] || fail "tree not pinned when named: $(cat spec/strata.yaml)"
pass "a path source without sha256 is pinned when named"

# Usage and spec errors: exit 2, file untouched.
cp spec/strata.yaml before2.yaml
rc=0
"$STRATA" pin --source nope spec/strata.yaml 2>err.out || rc=$?
expect_eq "pin --source of an unknown name" 2 "$rc"
grep -q "has no such pin (it has: " err.out || fail "unknown --source: $(cat err.out)"
printf 'apiVersion: strata/v1\nname: x\nsources:\n  - name: s\n    url: ftp://x\n' >bad.yaml
rc=0
"$STRATA" pin bad.yaml 2>err.out || rc=$?
expect_eq "pin of a bad spec" 2 "$rc"
grep -q "bad.yaml:5:10: error:" err.out || fail "bad spec error: $(cat err.out)"
# An alias cannot be rewritten alone.
printf 'apiVersion: strata/v1\nname: x\nsources:\n  - {name: a, url: "%s", sha256: &p %s}\n  - {name: b, url: "%s", sha256: *p}\n' "$url" "$stale" "$url" >alias.yaml
cp alias.yaml alias.before
rc=0
"$STRATA" pin --cache "$WORK/cache" alias.yaml 2>err.out || rc=$?
expect_eq "pin of an aliased sha256" 2 "$rc"
grep -q "alias" err.out || fail "alias error: $(cat err.out)"
cmp -s alias.yaml alias.before || fail "a refused pin changed the file"
cmp -s before2.yaml spec/strata.yaml || fail "a failed pin changed the spec"
pass "bad input exits 2 and changes nothing"
# A fetch that fails leaves the spec as it was.
sed -i "s|$url|file://$WORK/missing.txt|" spec/strata.yaml
cp spec/strata.yaml before3.yaml
rc=0
"$STRATA" pin --cache "$WORK/cache" spec/strata.yaml 2>err.out || rc=$?
[[ $rc -ne 0 ]] || fail "pin of a missing url succeeded"
grep -q "source 'up'" err.out || fail "fetch error does not name the source: $(cat err.out)"
cmp -s before3.yaml spec/strata.yaml || fail "a failed fetch changed the spec"
pass "a failed fetch names the source and changes nothing"
