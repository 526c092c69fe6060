#!/usr/bin/env bash
# Real clients on strata's output: the OCI schemas, skopeo, umoci, oci-image-tool and podman
# each read the example image; umoci's unpacked tree must be exactly what the spec asked for,
# and podman must load and run a strata image.
source "$(dirname "$0")/lib/e2e.sh"

digest=$(build_digest "$SOURCE_DIR/examples/hello/strata.yaml" "$WORK/out" --archive)
layout="$WORK/out/hello"
archive="$WORK/out/hello.tar"

client_validate_schemas "$layout" >/dev/null && pass "OCI schemas and blob digests" || fail "OCI schemas and blob digests"
expect_eq "skopeo inspect oci:" "$digest" "$(client_skopeo_inspect "$layout" 1.0)"
expect_eq "skopeo inspect oci-archive:" "$digest" "$(client_skopeo_inspect_archive oci-archive "$archive" 1.0)"
client_skopeo_inspect_archive docker-archive "$archive" >/dev/null && pass "skopeo inspect docker-archive: (manifest.json)" || fail "skopeo inspect docker-archive: (manifest.json)"
client_skopeo_copy_docker_archive "$layout" 1.0 "$WORK/copy.tar" hello:1.0 && pass "skopeo copy to docker-archive" || fail "skopeo copy to docker-archive"
client_oci_image_tool_validate "$layout" 1.0 >/dev/null && pass "oci-image-tool validate --type image" || fail "oci-image-tool validate --type image"
"$STRATA" inspect "$archive" >/dev/null && pass "strata inspect reads the archive" || fail "strata inspect reads the archive"

# umoci: the unpacked tree's files, modes, owners and symlinks are exactly the spec's.
client_umoci_unpack "$layout" 1.0 "$WORK/bundle" >/dev/null
client_tree_listing "$WORK/bundle/rootfs" >"$WORK/listing"
client_compare_listing "$E2E_DIR/golden/hello.listing" "$WORK/listing" && pass "umoci unpack tree matches the spec" || fail "umoci unpack tree matches the spec"
python3 - "$WORK/bundle/config.json" <<'PY' && pass "umoci runtime config carries user, cwd, args, env" || fail "umoci runtime config carries user, cwd, args, env"
import json, sys
p = json.load(open(sys.argv[1]))["process"]
assert p["user"]["uid"] == 65532 and p["user"]["gid"] == 65532, p["user"]
assert p["cwd"] == "/srv/www", p["cwd"]
assert p["args"] == ["/usr/bin/httpd", "-f", "-p", "8080", "-h", "/srv/www"], p["args"]
assert "PATH=/usr/bin:/bin" in p["env"], p["env"]
PY

# podman: load the archive (as oci-archive and as docker-archive) and run a strata image.
rc=0
client_podman_setup "$WORK/podman" || rc=$?
if [[ $rc -eq 77 ]]; then echo "SKIP: podman checks"; exit 0; fi
trap 'client_podman_cleanup; rm -rf "$WORK"' EXIT
expect_eq "podman load names the image" "localhost/hello:1.0" "$(client_podman_load "$archive")"
expect_eq "podman image id is the config digest" \
  "$("$STRATA" inspect --json "$layout" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config_descriptor"]["digest"])')" \
  "sha256:$(client_podman image inspect --format '{{.Id}}' localhost/hello:1.0)"
client_podman_load "$WORK/copy.tar" docker-archive >/dev/null && pass "podman load of skopeo's docker-archive" || fail "podman load of skopeo's docker-archive"

mkdir -p "$WORK/runnable/bin"
cp "$E2E_DIR/fixtures/runnable/"{strata.yaml,motd} "$WORK/runnable/"
cc -static -Os -o "$WORK/runnable/bin/hello" "$E2E_DIR/fixtures/runnable/hello.c"
build_digest "$WORK/runnable/strata.yaml" "$WORK/out" --archive >/dev/null
image=$(client_podman_load "$WORK/out/runnable.tar")
rc=0
out=$(client_podman_run "$image") || rc=$?
if [[ $rc -eq 77 ]]; then echo "SKIP: podman run (podman cannot run containers here)"; exit 0; fi
[[ $rc -eq 0 ]] || fail "podman run $image"
expect_eq "podman run output" \
  "hello from strata uid=65532 gid=65532 cwd=/home/app greeting=hi arg=from-cmd motd=runnable motd" "$out"
