# shellcheck shell=bash
# Real-client checks on an OCI image layout (strata's out/NAME/) and its archives.
#
#   source tests/e2e/lib/clients.sh
#
# Every function fails loudly: on error it prints "FAIL: <function>: <command>" and the tool's
# complete output to stderr and returns non-zero. A check that cannot run on this machine prints
# "SKIP: <reason>" (stderr) and returns 77 (the ctest SKIP_RETURN_CODE convention); callers should skip
# only that check. Functions never exit the caller's shell. Results go to stdout (digest, image
# name, listing, container output); progress/noise goes to stderr or nowhere.
#
# Functions (see docs/testing.md for what each proves):
#   client_validate_schemas DIR [ARGS...]            tests/tools/validate_oci_schemas.py DIR
#   client_skopeo_inspect DIR TAG                    prints the OCI manifest digest
#   client_skopeo_inspect_archive TRANSPORT TAR [REF] oci-archive|docker-archive; prints digest
#   client_skopeo_copy_docker_archive DIR TAG OUT.tar [NAME:TAG]
#   client_umoci_unpack DIR TAG BUNDLE               as root, owners preserved
#   client_umoci_unpack_rootless DIR TAG BUNDLE      --rootless (owners become the caller)
#   client_tree_listing ROOTFS [--no-owner] [--exclude GLOB]...
#   client_compare_listing EXPECTED_FILE ACTUAL_FILE diff -u, fails on any difference
#   client_oci_image_tool_validate DIR TAG           oci-image-tool validate --type image
#   client_make_archive DIR OUT.tar                  deterministic tar of a layout dir
#   client_podman_setup [DIR] / client_podman_cleanup  throwaway podman store (sets STRATA_PODMAN_DIR)
#   client_podman ARGS...                            raw podman on that store, with the VM workaround
#   client_podman_load ARCHIVE [auto|oci-archive|docker-archive]   prints the image name (or ID)
#   client_podman_run IMAGE [CMD...]                 prints the container's output; 77 if podman
#                                                    cannot run containers here
#
# Environment:
#   STRATA_PODMAN_DIR             store root made by client_podman_setup
#   STRATA_PODMAN_STORAGE_DRIVER  vfs (default; no mounts, trivially cleaned) or overlay
#   STRATA_PODMAN_ULIMITS         override the --ulimit flags passed to podman run/create

CLIENTS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLIENTS_TOOLS_DIR="$(cd "$CLIENTS_LIB_DIR/../../tools" && pwd)"
CLIENTS_EXAMPLES_DIR="$(cd "$CLIENTS_LIB_DIR/../../../examples" && pwd)"
CLIENTS_PYTHON="${CLIENTS_PYTHON:-python3}"

# _client_run NAME CMD... : run CMD, keep its combined output; on failure print it and return rc.
# On success the output is left in $_CLIENT_OUT (a file) for the caller to parse.
_client_run() {
    local name="$1"
    shift
    _CLIENT_OUT="$(mktemp "${TMPDIR:-/tmp}/strata-client.XXXXXX")"
    local rc=0
    "$@" >"$_CLIENT_OUT" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        {
            echo "FAIL: $name: exit $rc: $*"
            sed 's/^/    | /' "$_CLIENT_OUT"
        } >&2
        rm -f "$_CLIENT_OUT"
        return "$rc"
    fi
    return 0
}

_client_indent() { sed 's/^/    | /'; }

_client_need() {  # _client_need FUNC TOOL
    if ! command -v "$2" >/dev/null 2>&1; then
        echo "SKIP: $1: $2 is not installed" >&2
        return 77
    fi
}

_client_usage() {  # _client_usage FUNC WANTED GOT USAGE
    if [[ $3 -lt $2 ]]; then
        echo "FAIL: $1: usage: $1 $4" >&2
        return 2
    fi
}

# ---------------------------------------------------------------- schema validation
client_validate_schemas() {
    _client_usage client_validate_schemas 1 $# "LAYOUT_DIR [validator args]" || return
    local rc=0 out
    out="$("$CLIENTS_PYTHON" "$CLIENTS_TOOLS_DIR/validate_oci_schemas.py" "$@" 2>&1)" || rc=$?
    if [[ $rc -eq 77 ]]; then
        echo "$out" >&2
        return 77
    elif [[ $rc -ne 0 ]]; then
        { echo "FAIL: client_validate_schemas: exit $rc: validate_oci_schemas.py $*"; _client_indent <<<"$out"; } >&2
        return "$rc"
    fi
    echo "$out"
}

# ---------------------------------------------------------------- skopeo
# Prints the manifest digest skopeo computes for the image tagged TAG (ref.name) in DIR.
# skopeo verifies the config blob digest here (not the layers: use copy/unpack for those).
client_skopeo_inspect() {
    _client_usage client_skopeo_inspect 2 $# "DIR TAG" || return
    _client_need client_skopeo_inspect skopeo || return
    _client_run client_skopeo_inspect skopeo inspect --format '{{.Digest}}' "oci:$1:$2" || return
    cat "$_CLIENT_OUT"
    rm -f "$_CLIENT_OUT"
}

# client_skopeo_inspect_archive oci-archive|docker-archive TAR [REF]: inspect the tar form
# (out/NAME.tar). For docker-archive the digest is of the manifest skopeo synthesises from
# manifest.json (Docker schema2), NOT the OCI manifest digest (containers-transports(5), docker-archive: https://github.com/containers/image/blob/main/docs/containers-transports.5.md).
client_skopeo_inspect_archive() {
    _client_usage client_skopeo_inspect_archive 2 $# "oci-archive|docker-archive TAR [REF]" || return
    _client_need client_skopeo_inspect_archive skopeo || return
    local ref="$1:$2"
    [[ -n "${3:-}" ]] && ref="$ref:$3"
    _client_run client_skopeo_inspect_archive skopeo inspect --format '{{.Digest}}' "$ref" || return
    cat "$_CLIENT_OUT"
    rm -f "$_CLIENT_OUT"
}

# Copies every blob through skopeo (verifying layer digests and decompressing) into a
# docker-archive tar named NAME:TAG (default localhost/strata-e2e:TAG).
client_skopeo_copy_docker_archive() {
    _client_usage client_skopeo_copy_docker_archive 3 $# "DIR TAG OUT.tar [NAME:TAG]" || return
    _client_need client_skopeo_copy_docker_archive skopeo || return
    local name="${4:-localhost/strata-e2e:$2}"
    rm -f "$3"
    _client_run client_skopeo_copy_docker_archive \
        skopeo copy --quiet "oci:$1:$2" "docker-archive:$3:$name" || return
    rm -f "$_CLIENT_OUT"
    if [[ ! -s "$3" ]]; then
        echo "FAIL: client_skopeo_copy_docker_archive: $3 was not written" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- umoci
client_umoci_unpack() {
    _client_usage client_umoci_unpack 3 $# "DIR TAG BUNDLE" || return
    _client_need client_umoci_unpack umoci || return
    if [[ $EUID -ne 0 ]]; then
        echo "SKIP: client_umoci_unpack: needs root to preserve owners (use client_umoci_unpack_rootless)" >&2
        return 77
    fi
    _client_run client_umoci_unpack umoci unpack --image "$1:$2" "$3" || return
    rm -f "$_CLIENT_OUT"
}

client_umoci_unpack_rootless() {
    _client_usage client_umoci_unpack_rootless 3 $# "DIR TAG BUNDLE" || return
    _client_need client_umoci_unpack_rootless umoci || return
    _client_run client_umoci_unpack_rootless umoci unpack --rootless --image "$1:$2" "$3" || return
    rm -f "$_CLIENT_OUT"
}

# ---------------------------------------------------------------- listings
# Format (tab-separated, sorted): PATH TYPE MODE UID GID SIZE SHA256 TARGET (tests/tools/tree_listing.py)
client_tree_listing() {
    _client_usage client_tree_listing 1 $# "ROOTFS [--no-owner] [--exclude GLOB]..." || return
    local root="$1"
    shift
    "$CLIENTS_PYTHON" "$CLIENTS_TOOLS_DIR/tree_listing.py" "$@" "$root"
}

client_compare_listing() {
    _client_usage client_compare_listing 2 $# "EXPECTED ACTUAL" || return
    local d rc=0
    d="$(diff -u --label expected --label actual "$1" "$2")" || rc=$?
    if [[ $rc -ne 0 ]]; then
        { echo "FAIL: client_compare_listing: unpacked tree differs from the expected listing"; _client_indent <<<"$d"; } >&2
        return 1
    fi
}

# ---------------------------------------------------------------- oci-image-tool
# Debian's oci-image-tool is 1.0.0-rc1: `--type imageLayout` is "unimplemented" and a *tar* of the
# layout fails with "find failed: unable to walk: end of walk"; `--type image` on the *directory*
# works and verifies index.json -> manifest -> config/layers (digests, sizes, media types, schemas
# of image-spec 1.0.0-rc1 vintage).
client_oci_image_tool_validate() {
    _client_usage client_oci_image_tool_validate 2 $# "DIR TAG" || return
    _client_need client_oci_image_tool_validate oci-image-tool || return
    if [[ ! -d "$1" ]]; then
        echo "FAIL: client_oci_image_tool_validate: $1 is not a directory (this oci-image-tool cannot read tars)" >&2
        return 1
    fi
    _client_run client_oci_image_tool_validate \
        oci-image-tool validate --type image --ref "name=$2" "$1" || return
    if ! grep -q 'Validation succeeded' "$_CLIENT_OUT"; then
        { echo "FAIL: client_oci_image_tool_validate: no 'Validation succeeded' in output"; sed 's/^/    | /' "$_CLIENT_OUT"; } >&2
        rm -f "$_CLIENT_OUT"
        return 1
    fi
    rm -f "$_CLIENT_OUT"
}

client_make_archive() {
    _client_usage client_make_archive 2 $# "DIR OUT.tar" || return
    _client_run client_make_archive "$CLIENTS_PYTHON" "$CLIENTS_TOOLS_DIR/tar_layout.py" "$1" "$2" || return
    rm -f "$_CLIENT_OUT"
}

# ---------------------------------------------------------------- podman
# Throwaway store: --root/--runroot/--tmpdir under STRATA_PODMAN_DIR, vfs driver, no system state.
# Call client_podman_setup in the *calling* shell (not inside $(...)) so STRATA_PODMAN_DIR sticks.
client_podman_setup() {
    _client_need client_podman_setup podman || return
    if [[ $EUID -ne 0 ]]; then
        echo "SKIP: client_podman_setup: the podman checks run as root (rootless podman needs subuid/userns setup)" >&2
        return 77
    fi
    if [[ -n "${1:-}" ]]; then
        mkdir -p "$1"
        STRATA_PODMAN_DIR="$(cd "$1" && pwd)"
    else
        STRATA_PODMAN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/strata-podman.XXXXXX")"
    fi
    mkdir -p "$STRATA_PODMAN_DIR"/{root,run,tmp}
    export STRATA_PODMAN_DIR
}

client_podman_cleanup() {
    [[ -n "${STRATA_PODMAN_DIR:-}" && -d "$STRATA_PODMAN_DIR" ]] || return 0
    # overlay leaves mounts only inside the private namespace (gone with it); vfs has none. Try
    # a reset anyway so an overlay store outside the namespace does not block rm -rf.
    if [[ "${STRATA_PODMAN_STORAGE_DRIVER:-vfs}" != vfs ]]; then
        client_podman system reset --force >/dev/null 2>&1 || true
    fi
    rm -rf "$STRATA_PODMAN_DIR"
    unset STRATA_PODMAN_DIR
}

# client_podman ARGS... : podman on the throwaway store, through examples/podman.sh (the one
# copy of the VM workarounds: --ulimit for run/create, a private mount namespace without the
# cgroup2 mount on a hybrid cgroup host, cgroupfs without systemd).
client_podman() {
    if [[ -z "${STRATA_PODMAN_DIR:-}" ]]; then
        echo "FAIL: client_podman: call client_podman_setup first (STRATA_PODMAN_DIR unset)" >&2
        return 2
    fi
    STRATA_PODMAN_GLOBAL="--root $STRATA_PODMAN_DIR/root --runroot $STRATA_PODMAN_DIR/run --tmpdir $STRATA_PODMAN_DIR/tmp --storage-driver ${STRATA_PODMAN_STORAGE_DRIVER:-vfs}" \
        bash "$CLIENTS_EXAMPLES_DIR/podman.sh" "$@"
}

# client_podman_load ARCHIVE [auto|oci-archive|docker-archive]
#   auto (default): `podman load -i` — podman 4.3 tries oci-archive FIRST, so a hybrid tar
#       (oci-layout + index.json + manifest.json) is loaded as an OCI archive and manifest.json
#       is ignored. Name: the index.json annotation io.containerd.image.name if present, else
#       localhost/<org.opencontainers.image.ref.name>:latest (the ref.name becomes the *repository*,
#       e.g. ref.name "1.0" -> localhost/1.0:latest).
#   docker-archive / oci-archive: `podman pull TRANSPORT:ARCHIVE` forces that reader
#       (docker-archive uses manifest.json RepoTags for the name).
# Prints the loaded image name (first one), or the image ID if it got no name.
client_podman_load() {
    _client_usage client_podman_load 1 $# "ARCHIVE [auto|oci-archive|docker-archive]" || return
    [[ -n "${STRATA_PODMAN_DIR:-}" ]] || { echo "FAIL: client_podman_load: call client_podman_setup first" >&2; return 2; }
    local archive mode="${2:-auto}"
    archive="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    case "$mode" in
    auto)
        _client_run client_podman_load client_podman load -i "$archive" || return
        local name
        name="$(sed -n -E 's/^Loaded image(\(s\))?: *//p' "$_CLIENT_OUT" | head -n1 | cut -d, -f1)"
        rm -f "$_CLIENT_OUT"
        [[ -n "$name" ]] || { echo "FAIL: client_podman_load: podman printed no 'Loaded image:' line" >&2; return 1; }
        echo "$name"
        ;;
    oci-archive | docker-archive)
        _client_run client_podman_load client_podman pull --quiet "$mode:$archive" || return
        local id name
        id="$(tail -n1 "$_CLIENT_OUT")"
        rm -f "$_CLIENT_OUT"
        name="$(client_podman image inspect --format '{{range .RepoTags}}{{.}}{{"\n"}}{{end}}' "$id" 2>/dev/null | head -n1)"
        echo "${name:-$id}"
        ;;
    *)
        echo "FAIL: client_podman_load: unknown mode $mode" >&2
        return 2
        ;;
    esac
}

# A 129-byte static x86-64 ELF that exits 0: lets us tell "podman cannot run containers here"
# (probe fails too -> SKIP 77) from "this image is broken" (probe works -> FAIL).
_client_podman_probe() {
    local dir="$STRATA_PODMAN_DIR/probe-rootfs"
    if [[ "$(uname -m)" != x86_64 ]]; then
        echo "probe unavailable on $(uname -m)"
        return 2
    fi
    mkdir -p "$dir"
    "$CLIENTS_PYTHON" - "$dir/true" <<'EOF'
import os, struct, sys
code = bytes.fromhex("b83c00000031ff0f05")      # mov eax,60 (exit); xor edi,edi; syscall
base, eh_size, ph_size = 0x400000, 64, 56
total = eh_size + ph_size + len(code)
eh = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
    "<HHIQQQIHHHHHH", 2, 0x3E, 1, base + eh_size + ph_size, eh_size, 0, 0, eh_size, ph_size, 1, 0, 0, 0)
ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)
with open(sys.argv[1], "wb") as f:
    f.write(eh + ph + code)
os.chmod(sys.argv[1], 0o755)
EOF
    client_podman run --rm --network none --cgroups disabled --rootfs "$dir" /true 2>&1
}

# client_podman_run IMAGE [CMD...] : run IMAGE (already loaded) with no network, no cgroups, no
# pull; prints the container's stdout+stderr. Non-zero container exit -> FAIL with that code.
client_podman_run() {
    _client_usage client_podman_run 1 $# "IMAGE [CMD...]" || return
    [[ -n "${STRATA_PODMAN_DIR:-}" ]] || { echo "FAIL: client_podman_run: call client_podman_setup first" >&2; return 2; }
    local rc=0 out probe prc=0
    out="$(client_podman run --rm --pull never --network none --cgroups disabled "$@" 2>&1)" || rc=$?
    if [[ $rc -eq 0 ]]; then
        printf '%s\n' "$out"
        return 0
    fi
    probe="$(_client_podman_probe)" || prc=$?
    if [[ $prc -ne 0 && $prc -ne 2 ]]; then
        echo "SKIP: client_podman_run: podman cannot run containers on this machine: $probe" >&2
        return 77
    fi
    { echo "FAIL: client_podman_run: exit $rc: podman run $*"; printf '%s\n' "$out" | sed 's/^/    | /'; } >&2
    return "$rc"
}
