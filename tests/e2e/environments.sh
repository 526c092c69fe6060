#!/usr/bin/env bash
# Build environments and base images: examples/busybox (an image strata assembles from
# busybox-static), examples/in-image (a package built inside that image, not on the host) and
# examples/on-base (an image on top of it: base layers reused byte for byte, config extended).
source "$(dirname "$0")/lib/e2e.sh"

require_static_busybox
probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
ex="$WORK/examples"
mkdir -p "$ex"
cp -r "$SOURCE_DIR/examples/"{busybox,in-image,on-base} "$ex/"
build() { "$STRATA" build "$@" -o "$ex/out" --cache "$WORK/cache" 2>"$WORK/stderr" | tail -n 1; }

# The pins assume Debian 12's busybox-static; another build of it gets its own pins here.
pinned=$(sed -n 's/.*sha256: //p' "$ex/busybox/strata.yaml")
actual=$("$STRATA" hash /bin/busybox | cut -d' ' -f1 | sed 's/^sha256://')
[[ "$pinned" == "$actual" ]] || { echo "note: re-pinning busybox $actual"; sed -i "s/$pinned/$actual/" "$ex/busybox/strata.yaml"; }
base=$(build "$ex/busybox/strata.yaml") || { cat "$WORK/stderr"; fail "busybox build"; }
pinned_image=$(sed -n 's/.*busybox@\(sha256:[0-9a-f]*\).*/\1/p' "$ex/in-image/strata.yaml")
if [[ "$pinned_image" != "$base" ]]; then
  [[ "$pinned" != "$actual" ]] || fail "examples pin busybox image $pinned_image, built $base"
  sed -i "s/$pinned_image/$base/" "$ex/in-image/strata.yaml" "$ex/on-base/strata.yaml"
fi

# (c) rootfs: image — the steps run in busybox, not on the host.
build "$ex/in-image/strata.yaml" >/dev/null || { cat "$WORK/stderr"; fail "in-image build"; }
rm -rf "$WORK/bundle" && umoci_unpack "$ex/out/in-image" 1.0 "$WORK/bundle" >/dev/null
expect_eq "package built inside the busybox environment" $'- busybox\n- reproducible\n- sandbox\n- strata' \
  "$(cat "$WORK/bundle/rootfs/usr/share/report/words.md")"
ls "$WORK/cache/rootfs/sha256/${base#sha256:}/rootfs/bin/sh" >/dev/null && pass "environment unpacked once into the cache" || fail "environment unpacked once into the cache"

# A wrong environment pin is a digest mismatch naming both digests; nothing is built.
sed "s/$base/sha256:$(printf '0%.0s' {1..64})/" "$ex/in-image/strata.yaml" >"$ex/in-image/wrong.yaml"
rc=0; build "$ex/in-image/wrong.yaml" >/dev/null || rc=$?
expect_eq "wrong environment pin: exit code" 1 "$rc"
grep -q "manifest digest mismatch: expected sha256:0000" "$WORK/stderr" && grep -q "$base" "$WORK/stderr" &&
  pass "environment mismatch names the expected digest and the one the layout has"

# (d) image.base — the base's layers are reused byte for byte, its config extended.
on_base=$(build "$ex/on-base/strata.yaml" --archive) || { cat "$WORK/stderr"; fail "on-base build"; }
base_layers=$("$STRATA" inspect --json "$ex/out/busybox" | python3 -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"]])')
top_layers=$("$STRATA" inspect --json "$ex/out/on-base" | python3 -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"]][:2])')
expect_eq "base layers reused byte for byte" "$base_layers" "$top_layers"
python3 - "$ex/out/on-base" "$base" <<'PY' && pass "config extends the base's; base.digest annotation" || fail "config extends the base's; base.digest annotation"
import json, sys
layout, base = sys.argv[1], sys.argv[2]
idx = json.load(open(f"{layout}/index.json"))
man = json.load(open(f"{layout}/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
cfg = json.load(open(f"{layout}/blobs/sha256/" + man["config"]["digest"].split(":")[1]))["config"]
assert man["annotations"]["org.opencontainers.image.base.digest"] == base, man.get("annotations")
assert cfg["Entrypoint"] == ["/bin/sh"] and cfg["Cmd"] == ["/app/run.sh"], cfg
assert "PATH=/bin" in cfg["Env"] and "GREETING=hello from a layer on busybox" in cfg["Env"], cfg
PY
client_validate_schemas "$ex/out/on-base" >/dev/null && pass "on-base: OCI schemas" || fail "on-base: OCI schemas"

# A new entrypoint on a base with a Cmd resets it, as Docker's ENTRYPOINT does (on-base has
# Cmd ["/app/run.sh"]), unless the spec sets cmd: `cmd: []` is kept as an empty list.
mkdir -p "$ex/on-top"
for cmd_line in "" "cmd: []"; do
  printf 'apiVersion: strata/v1\nname: on-top\nversion: "1.0"\nimage:\n  base: ../out/on-base@%s\n  paths: [{path: /etc/on-top, type: file}]\n  config:\n    entrypoint: [/bin/echo]\n    %s\n' \
    "$on_base" "$cmd_line" >"$ex/on-top/strata.yaml"
  build "$ex/on-top/strata.yaml" >/dev/null || { cat "$WORK/stderr"; fail "on-top build ($cmd_line)"; }
  got=$(python3 - "$ex/out/on-top" <<'PY'
import json, sys
layout = sys.argv[1]
idx = json.load(open(f"{layout}/index.json"))
man = json.load(open(f"{layout}/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
cfg = json.load(open(f"{layout}/blobs/sha256/" + man["config"]["digest"].split(":")[1]))["config"]
print(json.dumps([cfg.get("Entrypoint"), cfg.get("Cmd", "unset")]))
PY
)
  want='[["/bin/echo"], "unset"]'
  [[ -z "$cmd_line" ]] || want='[["/bin/echo"], []]'
  expect_eq "entrypoint over a base's Cmd (${cmd_line:-no cmd})" "$want" "$got"
done
expect_eq "skopeo reads on-base" "$(tail -n1 <<<"$("$STRATA" inspect --json "$ex/out/on-base" | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest"]["digest"])')")" \
  "$(client_skopeo_inspect "$ex/out/on-base" 1.0)"

rc=0
client_podman_setup "$WORK/podman" || rc=$?
if [[ $rc -eq 77 ]]; then echo "SKIP: podman checks"; exit 0; fi
trap 'client_podman_cleanup; rm -rf "$WORK"' EXIT
image=$(client_podman_load "$ex/out/on-base.tar")
rc=0; out=$(client_podman_run "$image") || rc=$?
if [[ $rc -eq 77 ]]; then echo "SKIP: podman run"; exit 0; fi
expect_eq "podman runs the image built on a base" "hello from a layer on busybox (sh is busybox, cwd /app)" "$out"
