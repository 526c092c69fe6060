#!/usr/bin/env bash
# strata diff on real images: two builds of one spec are identical; a changed file is named;
# --json parses; skopeo's copies (oci-archive, docker-archive) hold the same image; and images
# built by umoci and buildah from the same files compare sensibly with --semantic.
source "$(dirname "$0")/lib/e2e.sh"

# run_diff NAME ARGS...: strata diff ARGS, stdout to $WORK/NAME.out; prints the exit code.
# Exit 0 or 1 with nothing on stderr is a comparison; anything else (an error, a crash) fails.
run_diff() {
  local name=$1 rc=0
  shift
  "$STRATA" diff "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  if [[ $rc -gt 1 || -s "$WORK/$name.err" ]]; then
    sed 's/^/    | /' "$WORK/$name.err" "$WORK/$name.out" >&2
    fail "$name: strata diff $* exited $rc"
  fi
  echo "$rc"
}

expect_line() {  # expect_line WHAT FILE REGEX: some line of FILE matches REGEX
  grep -Eq -- "$3" "$2" || { sed 's/^/    | /' "$2" >&2; fail "$1: no line matching '$3'"; }
  pass "$1"
}

# Every line of FILE matches one of the REGEXes (a difference nobody explained fails).
expect_only() {  # expect_only WHAT FILE REGEX...
  local what=$1 file=$2 pattern
  shift 2
  pattern=$(printf '%s|' "$@")
  if grep -Ev -- "${pattern%|}" "$file" >"$WORK/unexplained"; then
    sed 's/^/    | /' "$WORK/unexplained" >&2
    fail "$what: unexplained differences"
  fi
  pass "$what"
}

src="$SOURCE_DIR/examples/hello"
build_digest "$src/strata.yaml" "$WORK/one" >/dev/null
build_digest "$src/strata.yaml" "$WORK/two" >/dev/null
one="$WORK/one/hello"

# Two builds of the same spec.
expect_eq "two builds: exit 0" 0 "$(run_diff same "$one" "$WORK/two/hello")"
expect_eq "two builds: says identical" "images are identical" "$(cat "$WORK/same.out")"

# Trouble is not "different": an image that cannot be read exits 2, like diff(1).
rc=0; "$STRATA" diff "$one" "$WORK/no-such-image" >/dev/null 2>"$WORK/missing.err" || rc=$?
expect_eq "missing image: exit 2, not 1" 2 "$rc"
rc=0; "$STRATA" diff --ignore created "$one" "$one" >/dev/null 2>"$WORK/ignore.err" || rc=$?
expect_eq "--ignore with an unknown aspect: exit 2" 2 "$rc"
expect_line "--ignore names the known aspects" "$WORK/ignore.err" "unknown aspect 'created' \(one of: index, manifest, config"
# The help states the same contract as the code (it once said "1 … (or an error)").
"$STRATA" diff --help >"$WORK/diff-help.out"
expect_line "diff --help: exit 2 on trouble" "$WORK/diff-help.out" '2 an image could not be opened'
grep -q "no-such-image" "$WORK/missing.err" && pass "missing image: names the path" || fail "missing image: names the path"

# One file changed.
cp -r "$src" "$WORK/changed"
echo "a changed message of the day" >"$WORK/changed/files/motd"
build_digest "$WORK/changed/strata.yaml" "$WORK/three" >/dev/null
expect_eq "changed motd: exit 1" 1 "$(run_diff changed "$one" "$WORK/three/hello")"
expect_line "changed motd: names the file" "$WORK/changed.out" \
  '^  ~ etc/motd: content sha256:[0-9a-f]{12}… -> sha256:[0-9a-f]{12}…, size 45 -> 29$'
expect_line "changed motd: names the layer" "$WORK/changed.out" '^layer 1: sha256:.* \(diff_id\)$'
run_diff changed_json --json "$one" "$WORK/three/hello" >/dev/null
python3 -m json.tool "$WORK/changed_json.out" >/dev/null && pass "--json is one JSON document" || fail "--json is one JSON document"
python3 - "$WORK/changed_json.out" <<'PY' && pass "--json lists the changed file and config field" || fail "--json lists the changed file and config field"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["same"] is False and d["differences"] > 0, d
files = [(f["path"], f["change"], f["aspects"]) for l in d["layers"] for f in l["files"]]
assert files == [("etc/motd", "changed", ["content", "size"])], files
assert any(f["document"] == "config" and f["pointer"] == "/rootfs/diff_ids/0" for f in d["fields"])
assert d["integrity"] == [], d["integrity"]
PY

# A tampered layer blob: the documents are untouched, the blob holds the changed build's layer.
cp -r "$one" "$WORK/tampered"
first_layer() { "$STRATA" inspect --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])'; }
layer=$(first_layer "$one")
new=$(first_layer "$WORK/three/hello")
cp "$WORK/three/hello/blobs/sha256/$new" "$WORK/tampered/blobs/sha256/$layer"
expect_eq "tampered blob: exit 1" 1 "$(run_diff tampered "$one" "$WORK/tampered")"
expect_line "tampered blob: integrity names the layer" "$WORK/tampered.out" \
  "^integrity: blob sha256:$layer \\(layer 1 of B\\) does not match its descriptor"
expect_line "tampered blob: names the file" "$WORK/tampered.out" '^  ~ etc/motd: content '

# skopeo's copies: the same image in another container format.
if command -v skopeo >/dev/null; then
  skopeo copy -q "oci:$one:1.0" "oci-archive:$WORK/hello-oci.tar:1.0"
  rc=$(run_diff oci_archive "$one" "$WORK/hello-oci.tar")
  expect_only "skopeo oci-archive: at most index differences (exit $rc)" "$WORK/oci_archive.out" \
    '^index /' '^images are identical$' '^[0-9]+ differences?: [0-9]+ fields?, 0 layers, 0 paths, 0 integrity problems$'
  expect_eq "skopeo oci-archive --ignore index: identical" 0 \
    "$(run_diff oci_archive_ignore --ignore index "$one" "$WORK/hello-oci.tar")"
  skopeo copy -q "oci:$one:1.0" "docker-archive:$WORK/hello-docker.tar:localhost/hello:1.0"
  expect_eq "skopeo docker-archive: differs in packaging (exit 1)" 1 \
    "$(run_diff docker_archive "$one" "$WORK/hello-docker.tar")"
  expect_line "docker-archive: the layer is the same content" "$WORK/docker_archive.out" \
    '^manifest /layers/0/digest: .* \(same content, different compression\)$'
  expect_only "docker-archive: only index and manifest differ" "$WORK/docker_archive.out" \
    '^index /' '^manifest /' '^[0-9]+ differences: [0-9]+ fields, 0 layers, 0 paths, 0 integrity problems$'
  expect_eq "docker-archive --semantic: exit 0" 0 \
    "$(run_diff docker_semantic --semantic "$one" "$WORK/hello-docker.tar")"
else
  echo "SKIP: skopeo copies (skopeo is not installed)"
fi

# The same files as a tree, for the other builders: strata's image unpacked by umoci.
if ! command -v umoci >/dev/null || [[ $EUID -ne 0 ]]; then
  echo "SKIP: umoci and buildah comparisons (need umoci and root to unpack with owners)"
  exit 0
fi
umoci unpack --image "$one:1.0" "$WORK/bundle" >/dev/null
rootfs="$WORK/bundle/rootfs"

# umoci: a new image with the tree inserted as one layer, configured like the spec.
umoci init --layout "$WORK/umoci" >/dev/null
umoci new --image "$WORK/umoci:1.0" >/dev/null
umoci insert --image "$WORK/umoci:1.0" "$rootfs" / >/dev/null
umoci config --image "$WORK/umoci:1.0" --config.entrypoint /usr/bin/httpd \
  --config.cmd -f --config.cmd -p --config.cmd 8080 --config.cmd -h --config.cmd /srv/www \
  --config.env PATH=/usr/bin:/bin --config.workingdir /srv/www --config.user 65532:65532 \
  --config.label org.opencontainers.image.title=hello --config.exposedports 8080/tcp \
  --config.volume /var/log/app --config.stopsignal SIGTERM --architecture amd64 >/dev/null
umoci gc --layout "$WORK/umoci"
# Same files and run configuration: only times, history, packaging and layer split differ,
# all of which --semantic ignores.
expect_eq "umoci --semantic: exit 0" 0 "$(run_diff umoci --semantic "$one" "$WORK/umoci:1.0")"
expect_eq "umoci --semantic: says identical" "images are identical" "$(cat "$WORK/umoci.out")"
expect_eq "umoci layer by layer: exit 1" 1 "$(run_diff umoci_strict "$one" "$WORK/umoci:1.0")"
expect_line "umoci layer by layer: the second layer is strata's alone" "$WORK/umoci_strict.out" \
  '^layer 2: only in A: sha256:'
# One real difference is found and is the only one.
umoci config --image "$WORK/umoci:1.0" --tag 1.1 --config.user 0:0 >/dev/null
expect_eq "umoci user 0:0 --semantic: exit 1" 1 "$(run_diff umoci_user --semantic "$one" "$WORK/umoci:1.1")"
expect_only "umoci user 0:0 --semantic: only the user differs" "$WORK/umoci_user.out" \
  '^config /config/User: "65532:65532" -> "0:0"$' \
  '^1 difference: 1 field, 0 layers, 0 paths, 0 integrity problems$'

# buildah: from scratch, the tree copied in, configured like the spec, committed to oci:.
if ! command -v buildah >/dev/null; then
  echo "SKIP: buildah comparison (buildah is not installed)"
  exit 0
fi
buildah_cmd=(buildah --root "$WORK/buildah/root" --runroot "$WORK/buildah/run" --storage-driver vfs)
trap '"${buildah_cmd[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
if ! ctr=$("${buildah_cmd[@]}" from --isolation chroot scratch 2>"$WORK/buildah.err"); then
  echo "SKIP: buildah cannot run on this machine: $(cat "$WORK/buildah.err")"
  exit 0
fi
"${buildah_cmd[@]}" copy "$ctr" "$rootfs/" / >/dev/null
"${buildah_cmd[@]}" config --entrypoint '["/usr/bin/httpd"]' --cmd '-f -p 8080 -h /srv/www' \
  --env PATH=/usr/bin:/bin --workingdir /srv/www --user 65532:65532 \
  --label org.opencontainers.image.title=hello --port 8080/tcp --volume /var/log/app \
  --stop-signal SIGTERM --arch amd64 --os linux "$ctr"
"${buildah_cmd[@]}" commit -q "$ctr" "oci:$WORK/buildah-image:1.0" >/dev/null
# What buildah does differently, each explained: it labels the image with its version, and
# `buildah copy` makes everything it copies owned by root (the two app directories are
# 65532:65532 in the spec).
expect_eq "buildah --semantic: exit 1" 1 "$(run_diff buildah --semantic "$one" "$WORK/buildah-image:1.0")"
expect_only "buildah --semantic: only the explained differences" "$WORK/buildah.out" \
  '^config /config/Labels/io\.buildah\.version: \(absent\) -> "[0-9.]+"$' \
  '^filesystem \(layers merged\):$' \
  '^  ~ (home/app|var/log/app): uid 65532 -> 0, gid 65532 -> 0$' \
  '^3 differences: 1 field, 0 layers, 2 paths, 0 integrity problems$'
expect_line "buildah --semantic: names home/app" "$WORK/buildah.out" '^  ~ home/app: uid'
expect_eq "buildah layer by layer: exit 1" 1 "$(run_diff buildah_strict "$one" "$WORK/buildah-image:1.0")"
run_diff buildah_json --json "$one" "$WORK/buildah-image:1.0" >/dev/null
python3 -m json.tool "$WORK/buildah_json.out" >/dev/null && pass "buildah --json parses" || fail "buildah --json parses"
