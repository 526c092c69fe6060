#!/usr/bin/env bash
# Every image format a registry holds pulls (docs/registries.md "Pull"), against Debian's
# docker-registry on 127.0.0.1: an image pushed by skopeo as Docker v2s2 and as OCI, a
# multi-platform OCI index (pushed with `skopeo copy --all --preserve-digests`) and a Docker
# manifest list. `strata pull` picks this host's platform from an index or list, and
# `--platform` another one; each -o layout holds the manifest the registry has, byte for
# byte, and skopeo reads it.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"
require_registry
command -v skopeo >/dev/null || skip "skopeo is not installed"

export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME"
host_arch=$(uname -m)
case $host_arch in
x86_64) host_arch=amd64 other=arm64 ;;
aarch64) host_arch=arm64 other=amd64 ;;
*) skip "this test knows amd64 and arm64 hosts, not $host_arch" ;;
esac

# Files-only images (no build step runs, so any architecture builds here), one per platform.
img="$WORK/img"
mkdir -p "$img"
echo "formats" >"$img/hello.txt"
for arch in amd64 arm64; do
  cat >"$img/$arch.yaml" <<YAML
apiVersion: strata/v1
name: fmt-$arch
version: "1.0"
epoch: 1700000000
image:
  architecture: $arch
  layers:
    - files:
        - {src: hello.txt, dest: /hello-$arch.txt}
YAML
  d=$(build_digest "$img/$arch.yaml" "$WORK/out")
  [[ $d == sha256:* ]] || { cat "$WORK/build.log"; fail "building the $arch image"; }
  declare "digest_$arch=$d"
done
# One OCI layout holding both, under an index with their platforms.
python3 - "$WORK/out" "$WORK/multi" <<'PY'
import hashlib, json, os, shutil, sys
out, multi = sys.argv[1], sys.argv[2]
os.makedirs(f"{multi}/blobs/sha256")
entries = []
for arch in ("amd64", "arm64"):
    src = f"{out}/fmt-{arch}"
    for b in os.listdir(f"{src}/blobs/sha256"):
        shutil.copy(f"{src}/blobs/sha256/{b}", f"{multi}/blobs/sha256/{b}")
    d = json.load(open(f"{src}/index.json"))["manifests"][0]
    entries.append({"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
                    "platform": {"os": "linux", "architecture": arch}})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": entries}, sort_keys=True, separators=(",", ":")).encode()
digest = hashlib.sha256(index).hexdigest()
open(f"{multi}/blobs/sha256/{digest}", "wb").write(index)
top = {"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
    "size": len(index), "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]}
json.dump(top, open(f"{multi}/index.json", "w"))
open(f"{multi}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
index=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$WORK/multi/index.json")

start_registry formats
reg="127.0.0.1:$REG_PORT"
host_digest_var="digest_$host_arch" other_digest_var="digest_$other"

# raw REF: the manifest bytes the registry holds for REF, hashed.
raw_digest() { echo "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -d' ' -f1)"; }

# pull_ok WHAT REF WANT [FLAGS...]: `strata pull docker://REF -o DIR` exits 0 and DIR holds
# the manifest WANT (by digest, and its bytes as the registry has them); skopeo reads DIR.
m=0
pull_ok() {
  local what=$1 ref=$2 want=$3 dir got
  shift 3
  m=$((m + 1))
  dir="$WORK/pulled-$m"
  "$STRATA" pull "docker://$ref" -o "$dir" "$@" >"$WORK/pull.out" 2>"$WORK/err" ||
    { cat "$WORK/err"; fail "$what: strata pull $ref"; }
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$dir/index.json")
  [[ $got == "$want" ]] || { cat "$WORK/err"; fail "$what: pulled $got, expected $want"; }
  [[ $(sha256sum "$dir/blobs/sha256/${want#sha256:}" | cut -d' ' -f1) == "${want#sha256:}" ]] ||
    fail "$what: the manifest blob does not hash to its name"
  skopeo inspect "oci:$dir" >/dev/null 2>"$WORK/skopeo.err" || { cat "$WORK/skopeo.err"; fail "$what: skopeo inspect"; }
  PULLED="$dir"
  pass "$what"
}

# Docker v2s2: skopeo converts the manifest (and config media type), so the digest is new.
skopeo copy --quiet --format v2s2 --dest-tls-verify=false "oci:$WORK/out/fmt-$host_arch" \
  "docker://$reg/fmt/v2s2:1.0" >>"$WORK/skopeo.log" 2>&1 || { cat "$WORK/skopeo.log"; fail "skopeo copy --format v2s2"; }
v2s2=$(raw_digest "$reg/fmt/v2s2:1.0")
[[ $v2s2 != "${!host_digest_var}" ]] || fail "skopeo did not convert to v2s2"
pull_ok "a Docker v2s2 image by digest" "$reg/fmt/v2s2:1.0@$v2s2" "$v2s2"
grep -q '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"' \
  "$PULLED/index.json" || { cat "$PULLED/index.json"; fail "the v2s2 layout names another type"; }
pull_ok "a Docker v2s2 image by tag" "$reg/fmt/v2s2:1.0" "$v2s2"
expect_eq "pull prints the v2s2 pin" "docker://$reg/fmt/v2s2:1.0@$v2s2" "$(cat "$WORK/pull.out")"

# OCI, digests preserved.
skopeo_push "$WORK/out/fmt-$host_arch" "$reg/fmt/oci:1.0"
pull_ok "an OCI image" "$reg/fmt/oci:1.0@${!host_digest_var}" "${!host_digest_var}"

# A multi-platform OCI index: this host's platform, and --platform the other.
skopeo copy --quiet --all --preserve-digests --dest-tls-verify=false "oci:$WORK/multi:1.0" \
  "docker://$reg/fmt/multi:1.0" >>"$WORK/skopeo.log" 2>&1 || { cat "$WORK/skopeo.log"; fail "skopeo copy --all"; }
expect_eq "the registry holds the index as built" "$index" "$(raw_digest "$reg/fmt/multi:1.0")"
pull_ok "an OCI index: this host's platform" "$reg/fmt/multi:1.0@$index" "${!host_digest_var}"
expect_eq "pull of an index prints the index pin" "docker://$reg/fmt/multi:1.0@$index" "$(cat "$WORK/pull.out")"
grep -q "(linux/$host_arch) written to" "$WORK/err" || { cat "$WORK/err"; fail "the platform is not named"; }
pull_ok "an OCI index: --platform linux/$other" "$reg/fmt/multi:1.0@$index" "${!other_digest_var}" \
  --platform "linux/$other"
rc=0
"$STRATA" pull "docker://$reg/fmt/multi:1.0@$index" -o "$WORK/none" --platform linux/riscv64 \
  >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] || { cat "$WORK/err"; fail "a platform the index lacks: exit $rc"; }
grep -qF "no image for linux/riscv64 (the index has: linux/amd64, linux/arm64)" "$WORK/err" ||
  { cat "$WORK/err"; fail "a platform the index lacks: message"; }
[[ ! -e $WORK/none ]] || fail "a platform the index lacks: -o was written"
pass "a platform the index lacks names the ones it has"

# A Docker manifest list of v2s2 images, PUT by hand (skopeo would keep the OCI index).
for arch in amd64 arm64; do
  skopeo copy --quiet --format v2s2 --dest-tls-verify=false "oci:$WORK/out/fmt-$arch" \
    "docker://$reg/fmt/list:$arch" >>"$WORK/skopeo.log" 2>&1 || { cat "$WORK/skopeo.log"; fail "skopeo copy $arch"; }
  skopeo inspect --raw --tls-verify=false "docker://$reg/fmt/list:$arch" >"$WORK/list-$arch.json"
done
python3 - "$WORK" >"$WORK/list.json" <<'PY'
import hashlib, json, sys
work = sys.argv[1]
entries = []
for arch in ("amd64", "arm64"):
    raw = open(f"{work}/list-{arch}.json", "rb").read()
    entries.append({"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "digest": "sha256:" + hashlib.sha256(raw).hexdigest(), "size": len(raw),
                    "platform": {"os": "linux", "architecture": arch}})
sys.stdout.write(json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests": entries}, indent=3))
PY
curl -sf -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json" \
  --data-binary "@$WORK/list.json" "http://$reg/v2/fmt/list/manifests/1.0" >/dev/null ||
  fail "PUT of the manifest list"
list="sha256:$(sha256sum "$WORK/list.json" | cut -d' ' -f1)"
expect_eq "the registry holds the list as written" "$list" "$(raw_digest "$reg/fmt/list:1.0")"
want_host="sha256:$(sha256sum "$WORK/list-$host_arch.json" | cut -d' ' -f1)"
want_other="sha256:$(sha256sum "$WORK/list-$other.json" | cut -d' ' -f1)"
pull_ok "a Docker manifest list: this host's platform" "$reg/fmt/list:1.0@$list" "$want_host"
pull_ok "a Docker manifest list: --platform linux/$other" "$reg/fmt/list:1.0" "$want_other" \
  --platform "linux/$other"
expect_eq "pull of a list by tag prints the list pin" "docker://$reg/fmt/list:1.0@$list" "$(cat "$WORK/pull.out")"
