#!/usr/bin/env bash
# Builds on a FUSE filesystem (disorderfs, which also shuffles directory order). FUSE rejects
# renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE with EINVAL; strata falls back to plain
# renames there. A package build (sources merged into src/), a rebuild over an existing layout
# (publish_dir) and the cache must all work, and give the digests a build elsewhere gives.
source "$(dirname "$0")/lib/e2e.sh"

command -v disorderfs >/dev/null || skip "disorderfs is not installed"
[[ -c /dev/fuse ]] || skip "no /dev/fuse"
probe_sandbox  # c-hello is a package build
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
mkdir "$WORK/real" "$WORK/mnt"
disorderfs --shuffle-dirents=yes "$WORK/real" "$WORK/mnt" >/dev/null 2>&1 \
  || skip "cannot mount disorderfs here (FUSE needs root or a setuid fusermount)"
trap 'fusermount -u "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt"; rm -rf "$WORK"' EXIT

expected=$(build_digest "$SOURCE_DIR/examples/c-hello/strata.yaml" "$WORK/outside" --cache "$WORK/cache-outside")
cp -r "$SOURCE_DIR/examples/c-hello" "$WORK/mnt/"
cd "$WORK/mnt/c-hello"
first=$(build_digest strata.yaml ../out --cache ../cache)
expect_eq "package build on FUSE: same digest as elsewhere" "$expected" "$first"
again=$(build_digest strata.yaml ../out --cache ../cache)
expect_eq "rebuild over the existing layout on FUSE (cached package)" "$expected" "$again"
"$STRATA" diff ../out/c-hello "$WORK/outside/c-hello" >/dev/null && pass "strata diff: identical to the build elsewhere" || fail "strata diff: identical to the build elsewhere"
[[ -z "$(find .. -maxdepth 1 -name 'c-hello.old-*')" ]] && pass "no tree left aside" || fail "no tree left aside"
