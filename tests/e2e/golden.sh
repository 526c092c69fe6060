#!/usr/bin/env bash
# Golden digest: examples/hello must build to the pinned manifest digest. A change to it
# changes every user's image digest, so update golden/hello.digest only in a commit that
# says why (strata-det/2, docs/compression.md, changed the gzip and zstd digests).
source "$(dirname "$0")/lib/e2e.sh"

digest=$(build_digest "$SOURCE_DIR/examples/hello/strata.yaml" "$WORK/out")
expect_eq "examples/hello manifest digest" "$(golden hello.digest)" "$digest"
for c in zstd none; do
  d=$(build_digest "$SOURCE_DIR/examples/hello/strata.yaml" "$WORK/out-$c" --compression "$c")
  expect_eq "examples/hello --compression $c digest" "$(golden "hello.$c.digest")" "$d"
done
# The DiffIDs do not depend on the compression: compare the configs' rootfs.
for c in zstd none; do
  expect_eq "diff_ids with $c" \
    "$("$STRATA" inspect --json "$WORK/out/hello" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["rootfs"])')" \
    "$("$STRATA" inspect --json "$WORK/out-$c/hello" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["rootfs"])')"
done
