#!/usr/bin/env bash
# Self-test of the real-client harness (tests/e2e/lib/clients.sh + tests/tools/*): builds small
# layouts with make_test_layout.py (two gzip layers: files, dirs, symlinks, modes 0600..1777,
# owners 0/1000/2000:3000, a whiteout, plus host /bin/sh and /bin/cat with their libraries so a
# container can run), runs every client function on them, and proves the negative paths: damaged
# layouts make the validator, skopeo, umoci and oci-image-tool fail.
#
# Usage: tests/e2e/lib/selftest.sh            (as root; ~10 s)
# Exit: 0 all checks passed (some may be SKIPped, listed at the end), 1 a check failed.
set -euo pipefail

LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/e2e/lib/clients.sh
source "$LIB/clients.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/strata-selftest.XXXXXX")"
cleanup() {
    client_podman_cleanup || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

PASS=0
FAILED=()
SKIPPED=()

# check NAME CMD... : CMD must succeed (77 = skipped)
check() {
    local name="$1" rc=0
    shift
    "$@" || rc=$?
    case $rc in
    0) PASS=$((PASS + 1)); echo "ok   $name" ;;
    77) SKIPPED+=("$name"); echo "skip $name" ;;
    *) FAILED+=("$name"); echo "FAIL $name (exit $rc)" ;;
    esac
}

# expect_fail NAME CMD... : CMD must fail with a real error (not 0, not the 77 skip code)
expect_fail() {
    local name="$1" rc=0
    shift
    "$@" >/dev/null 2>"$WORK/expect_fail.err" || rc=$?
    case $rc in
    0) FAILED+=("$name"); echo "FAIL $name (expected a failure, got success)" ;;
    77) SKIPPED+=("$name"); echo "skip $name"; sed 's/^/    /' "$WORK/expect_fail.err" ;;
    *) PASS=$((PASS + 1)); echo "ok   $name (fails as it should: $(grep -m1 -E 'FAIL|Error|error|fatal' "$WORK/expect_fail.err" | cut -c1-150))" ;;
    esac
}

# eq NAME EXPECTED ACTUAL
eq() {
    if [[ "$2" == "$3" ]]; then
        PASS=$((PASS + 1)); echo "ok   $1"
    else
        FAILED+=("$1"); echo "FAIL $1: expected [$2] got [$3]"
    fi
}

mk() { "$CLIENTS_PYTHON" "$LIB/make_test_layout.py" "$@"; }

TAG=1.0
NAME=example.com/strata/selftest:1.0
echo "== building test layouts in $WORK"
DIGEST="$(mk good --tag "$TAG" --repo-tag "$NAME" --host-binary /bin/sh --host-binary /bin/cat \
    --cmd /bin/cat --cmd /etc/hello.txt --expected-listing expected.txt)"
client_make_archive good good.tar
mk ocionly --tag "$TAG" --containerd-name "" --no-docker-manifest --host-binary /bin/cat >/dev/null
client_make_archive ocionly ocionly.tar

echo "== schema validation"
check "validate_oci_schemas (default: vendored tests/schemas v1.1.1)" client_validate_schemas good
debian_schemas=/usr/share/gocode/src/github.com/opencontainers/image-spec/schema
if [[ -d "$debian_schemas" ]]; then
    check "validate_oci_schemas (Debian image-spec 1.1.0~rc2)" client_validate_schemas good --schema-dir "$debian_schemas"
fi
check "validate_oci_schemas (oci-only layout)" client_validate_schemas ocionly
rc=0; out="$(STRATA_SCHEMA_DIR=/nonexistent "$CLIENTS_PYTHON" "$CLIENTS_TOOLS_DIR/validate_oci_schemas.py" --schema-dir /nonexistent good)" || rc=$?
eq "validator exits 77 with SKIP when no schema dir" "77 SKIP" "$rc ${out:0:4}"

echo "== skopeo"
d="$(client_skopeo_inspect good "$TAG")" && eq "skopeo inspect oci: digest = written manifest digest" "$DIGEST" "$d" || FAILED+=("skopeo inspect")
d="$(client_skopeo_inspect_archive oci-archive good.tar "$TAG")" && eq "skopeo inspect oci-archive: same digest" "$DIGEST" "$d" || FAILED+=("skopeo inspect oci-archive")
check "skopeo inspect docker-archive (hybrid manifest.json)" client_skopeo_inspect_archive docker-archive good.tar
check "skopeo copy oci: -> docker-archive" client_skopeo_copy_docker_archive good "$TAG" skopeo-docker.tar example.com/strata/copied:1.0

echo "== umoci"
check "umoci unpack (root)" client_umoci_unpack good "$TAG" bundle
if [[ -d bundle/rootfs ]]; then
    client_tree_listing bundle/rootfs >actual.txt
    check "unpacked tree == expected listing (owners, modes, symlinks, whiteout)" client_compare_listing expected.txt actual.txt
fi
check "umoci unpack --rootless" client_umoci_unpack_rootless good "$TAG" bundle-rootless
if [[ -d bundle-rootless/rootfs ]]; then
    awk -F'\t' 'BEGIN{OFS="\t"} {$4="-"; $5="-"; print}' expected.txt >expected-noowner.txt
    client_tree_listing bundle-rootless/rootfs --no-owner >actual-rootless.txt
    check "rootless tree == expected listing (owners ignored)" client_compare_listing expected-noowner.txt actual-rootless.txt
fi

echo "== oci-image-tool"
check "oci-image-tool validate --type image --ref name=$TAG" client_oci_image_tool_validate good "$TAG"
expect_fail "oci-image-tool: unknown ref fails" client_oci_image_tool_validate good no-such-tag

echo "== podman"
prc=0
client_podman_setup "$WORK/podman" || prc=$?
if [[ $prc -eq 0 ]]; then
    n="$(client_podman_load good.tar)" && eq "podman load hybrid tar: named by io.containerd.image.name" "$NAME" "$n" || FAILED+=("podman load hybrid")
    n="$(client_podman_load good.tar docker-archive)" && eq "podman pull docker-archive: (manifest.json RepoTags)" "$NAME" "$n" || FAILED+=("podman docker-archive")
    n="$(client_podman_load ocionly.tar)" && eq "podman load oci-archive without full name -> localhost/<ref.name>:latest" "localhost/$TAG:latest" "$n" || FAILED+=("podman load oci-only")
    n="$(client_podman_load skopeo-docker.tar)" && eq "podman load skopeo docker-archive" "example.com/strata/copied:1.0" "$n" || FAILED+=("podman load skopeo archive")
    id="$(client_podman image inspect --format '{{.Id}}' "$NAME")"
    cfg="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[0]["Config"].split("/")[-1])' good/manifest.json)"
    eq "podman image ID == config digest" "$cfg" "$id"

    rc=0; out="$(client_podman_run "$NAME")" || rc=$?
    if [[ $rc -eq 77 ]]; then
        SKIPPED+=("podman run (all)")
        echo "skip podman run: $out"
    else
        eq "podman run default Cmd" "hello strata" "$out"
        out="$(client_podman_run "$NAME" /bin/sh -c 'test -e /removed.txt && echo present || echo whiteout-ok; /bin/cat /etc/layer2.txt; /bin/cat /data/secret' 2>&1 || true)"
        eq "podman run sh: whiteout applied, layer 2 file, 0600 file readable by root" \
            "$(printf 'whiteout-ok\nfrom layer 2\ntop secret')" "$out"
        out="$(client_podman_run localhost/$TAG:latest /bin/cat /link)" && eq "podman run via symlink, oci-archive-loaded image" "hello strata" "$out" || FAILED+=("podman run oci-only")
        expect_fail "podman run of a missing binary is FAIL, not SKIP" client_podman_run "$NAME" /no/such/binary
    fi
else
    SKIPPED+=("podman (setup)")
fi

echo "== negative: damaged layouts"
for mode in layer-content config-content manifest-digest uppercase-digest layer-size diff-ids; do
    mk "bad-$mode" --tag "$TAG" --corrupt "$mode" >/dev/null
    expect_fail "validator rejects $mode" client_validate_schemas "bad-$mode"
done
printf '{"imageLayoutVersion": "1.0.0"}\n' >bad-layer-size/oci-layout
expect_fail "validator rejects non-canonical oci-layout" client_validate_schemas bad-layer-size
expect_fail "skopeo inspect rejects a corrupted config blob" client_skopeo_inspect bad-config-content "$TAG"
expect_fail "skopeo inspect rejects uppercase digest" client_skopeo_inspect bad-uppercase-digest "$TAG"
expect_fail "skopeo copy rejects a corrupted layer blob" client_skopeo_copy_docker_archive bad-layer-content "$TAG" bad.tar
expect_fail "skopeo inspect rejects a missing manifest blob" client_skopeo_inspect bad-manifest-digest "$TAG"
expect_fail "umoci rejects a wrong layer size" client_umoci_unpack_rootless bad-layer-size "$TAG" bad-bundle
expect_fail "oci-image-tool rejects a corrupted layer blob" client_oci_image_tool_validate bad-layer-content "$TAG"
sed '0,/\t0644\t/s//\t0664\t/' expected.txt >wrong.txt
if [[ -f actual.txt ]]; then
    expect_fail "listing comparison catches a content difference" client_compare_listing wrong.txt actual.txt
fi

echo
echo "selftest: $PASS passed, ${#SKIPPED[@]} skipped, ${#FAILED[@]} failed"
for s in "${SKIPPED[@]}"; do echo "  SKIP: $s"; done
for f in "${FAILED[@]}"; do echo "  FAIL: $f"; done
[[ ${#FAILED[@]} -eq 0 ]]
