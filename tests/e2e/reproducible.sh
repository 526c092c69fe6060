#!/usr/bin/env bash
# Reproducibility: the same spec built from copies made under different conditions (working
# directory, umask, TZ, LANG, file creation order, file mtimes) gives the same digest.
source "$(dirname "$0")/lib/e2e.sh"

src="$SOURCE_DIR/examples/hello"

# Copy A: a plain copy, default umask, built from the repository root.
mkdir -p "$WORK/a" && cp -r "$src" "$WORK/a/hello"
digest_a=$(cd "$SOURCE_DIR" && build_digest "$WORK/a/hello/strata.yaml" "$WORK/out-a")

# Copy B: files created one by one in reverse order under umask 077, with scattered mtimes,
# built from another directory with another time zone and locale.
mkdir -p "$WORK/b/hello"
(
  umask 077
  cd "$src"
  find . -type d | sort -r | while read -r d; do mkdir -p "$WORK/b/hello/$d"; done
  find . -type f | sort -r | while read -r f; do
    cat "$f" >"$WORK/b/hello/$f"
    [[ -x "$f" ]] && chmod u+x "$WORK/b/hello/$f"
    touch -d "@$((RANDOM * 1000 + 86400))" "$WORK/b/hello/$f"
  done
)
mkdir -p "$WORK/elsewhere"
digest_b=$(cd "$WORK/elsewhere" && umask 027 && TZ=Pacific/Chatham LANG=de_DE.UTF-8 LC_ALL=C \
  build_digest ../b/hello/strata.yaml "$WORK/out-b")

expect_eq "digest across working dir, umask, TZ, LANG, creation order and mtimes" "$digest_a" "$digest_b"
expect_eq "digest equals the golden digest" "$(golden hello.digest)" "$digest_a"
cmp "$WORK/out-a/hello/index.json" "$WORK/out-b/hello/index.json" && pass "index.json byte-identical" || fail "index.json byte-identical"

# The archive is reproducible too.
build_digest "$WORK/a/hello/strata.yaml" "$WORK/ar1" --archive >/dev/null
(cd /tmp && TZ=UTC build_digest "$WORK/b/hello/strata.yaml" "$WORK/ar2" --archive >/dev/null)
cmp "$WORK/ar1/hello.tar" "$WORK/ar2/hello.tar" && pass "archive byte-identical" || fail "archive byte-identical"

# Building needs no privileges: an unprivileged user gets the same digest (uids in the image
# come from the spec, never from the files' owners).
probe_nobody
if [[ -z "$NOBODY_SKIP" ]]; then
  mkdir -p "$WORK/nobody" && cp -r "$src" "$WORK/nobody/hello"
  chown -R 65534:65534 "$WORK/nobody"
  digest_n=$(as_nobody "$STRATA" build "$WORK/nobody/hello/strata.yaml" -o "$WORK/nobody/out" 2>/dev/null | tail -n 1)
  expect_eq "digest built as uid 65534" "$digest_a" "$digest_n"
else
  echo "SKIP: unprivileged build: $NOBODY_SKIP"
fi

# The compressors' threads never change the bytes (docs/compression.md): a layer of several
# gzip blocks and zstd jobs (text-like and incompressible files, 12 MiB) built with --jobs 1,
# 2 and 8 and pinned to one CPU gives one digest per compression; gzip -t and zstd -t accept
# every layer blob.
mkdir -p "$WORK/big/tree"
python3 - "$WORK/big/tree" <<'PY'
import random, sys
rng = random.Random(16)
words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 8))) for _ in range(500)]
for i in range(6):
    with open(f"{sys.argv[1]}/text{i}", "wb") as f:
        f.write(b" ".join(rng.choice(words) for _ in range(200000)))
    with open(f"{sys.argv[1]}/random{i}", "wb") as f:
        f.write(rng.randbytes(1 << 20))
PY
cat >"$WORK/big/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: big
epoch: 1700000000
image:
  layers:
    - files: [{src: tree, dest: /data}]
YAML
for c in gzip zstd; do
  first=$(build_digest "$WORK/big/strata.yaml" "$WORK/big-$c-1" --compression "$c" --jobs 1)
  for j in 2 8; do
    expect_eq "$c layer digest with --jobs $j" "$first" \
      "$(build_digest "$WORK/big/strata.yaml" "$WORK/big-$c-$j" --compression "$c" --jobs "$j")"
  done
  if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
    expect_eq "$c layer digest under taskset -c 0 --jobs 8" "$first" \
      "$(taskset -c 0 "$STRATA" build "$WORK/big/strata.yaml" -o "$WORK/big-$c-pinned" \
        --compression "$c" --jobs 8 2>>"$WORK/build.log" | tail -n 1)"
  else
    echo "SKIP: taskset -c 0: not available here"
  fi
  # The layer blobs are the ones that start with the compression's magic number.
  checked=0
  for blob in "$WORK/big-$c-1"/big/blobs/sha256/*; do
    magic=$(head -c 4 "$blob" | od -An -tx1 | tr -d ' \n')
    [[ ($c == gzip && $magic == 1f8b08*) || ($c == zstd && $magic == 28b52ffd) ]] || continue
    "$c" -t -q "$blob" || fail "$c -t rejects layer $(basename "$blob")"
    checked=$((checked + 1))
  done
  expect_eq "$c layers checked by $c -t" 1 "$checked"
done
