#!/usr/bin/env bash
# `run:` layers (docs/run-layers.md): commands run in the sandbox over the image so far, their
# changes (new, changed and deleted files) turned into a layer with OCI whiteouts. Over
# examples/busybox as the base: umoci and podman see the deletion; the copy path gives the
# same digest; a rebuild is a cache hit; a failing command stores nothing; a hostile command
# changes nothing outside; strata verify rebuilds it; as uid 65534 too; and, with real .debs,
# update-ca-certificates over a `debs: [ca-certificates]` layer.
source "$(dirname "$0")/lib/e2e.sh"

require_static_busybox
probe_sandbox
[[ -z "$SANDBOX_SKIP" ]] || skip "$SANDBOX_SKIP"
cd "$WORK"
CACHE="$WORK/cache"
mkdir -p examples
cp -r "$SOURCE_DIR/examples/busybox" examples/
pinned=$(sed -n 's/.*sha256: //p' examples/busybox/strata.yaml)
actual=$("$STRATA" hash /bin/busybox | cut -d' ' -f1 | sed 's/^sha256://')
[[ "$pinned" == "$actual" ]] || sed -i "s/$pinned/$actual/" examples/busybox/strata.yaml
base=$("$STRATA" build examples/busybox/strata.yaml -o "$WORK/out" --cache "$CACHE" 2>build.err | tail -n 1) ||
  { cat build.err; fail "busybox build"; }

# The spec: a layer of files (docs, a config, a state directory), then the run layer.
mkdir -p app/doc app/state
echo "the manual" >app/doc/README
echo "old=1" >app/app.conf
echo "keep" >app/state/keep
echo "hash" >app/shadow  # mode 0000 in the image, as RHEL's /etc/shadow: read back as uid 65534 too
write_spec() {  # write_spec DIR COMMAND...: a spec over busybox whose last layer runs COMMANDs
  local dir=$1
  shift
  mkdir -p "$dir"
  cp -r app "$dir/"
  {
    printf 'apiVersion: strata/v1\nname: runl\nversion: "1.0"\nepoch: 1700000000\nimage:\n'
    printf '  base: ../out/busybox@%s\n  layers:\n' "$base"
    printf '    - files:\n'
    printf '        - {src: app/doc, dest: /usr/share/doc/app}\n'
    printf '        - {src: app/app.conf, dest: /etc/app.conf}\n'
    printf '        - {src: app/state, dest: /root/state}\n'
    printf '        - {src: app/shadow, dest: /etc/shadow, mode: "0000"}\n'
    printf '    - run:\n'
    for c in "$@"; do printf '        - %s\n' "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$c")"; done
    printf '  config:\n    entrypoint: [/bin/sh, -c]\n'
  } >"$dir/strata.yaml"
}
COMMANDS=("rm -rf /usr/share/doc" "echo new=2 > /etc/app.conf" "mkdir -p /root/state/sub && echo made > /root/state/sub/file"
  "ln -s ../etc/app.conf /root/conf-link" "chmod 0600 /root/state/keep" "rm /root/state/keep2 2>/dev/null; true")
write_spec good "${COMMANDS[@]}"
build() { "$STRATA" build "$@" --cache "$CACHE" 2>>build.err | tail -n 1; }

# (1) the layer: creates, changes, deletes; umoci (and podman) see the result.
d1=$(build good/strata.yaml -o out1 --archive) || { cat build.err; fail "build with a run layer"; }
[[ $d1 == sha256:* ]] || fail "build printed no digest: $d1"
python3 - out1/runl <<'PY' || fail "the run layer's entries"
import json, sys, tarfile, gzip
layout = sys.argv[1]
blob = lambda d: f"{layout}/blobs/sha256/" + d.split(":")[1]
idx = json.load(open(f"{layout}/index.json"))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
last = man["layers"][-1]
names = {}
with tarfile.open(blob(last["digest"])) as t:
    for m in t.getmembers():
        names[m.name] = m
want = {"usr/share/.wh.doc", "etc/app.conf", "root/state/sub/file", "root/conf-link", "root/state/keep"}
assert want <= set(names), sorted(names)
assert not any(n.startswith("usr/share/doc/") for n in names), sorted(names)
assert names["root/state/keep"].mode == 0o600, oct(names["root/state/keep"].mode)
assert names["root/conf-link"].linkname == "../etc/app.conf"
for m in names.values():
    assert m.mtime == 1700000000, (m.name, m.mtime)
    assert (m.uid, m.gid) == (0, 0), (m.name, m.uid, m.gid)
# Nothing the commands did not change: bin/ (busybox) and etc/passwd are not in the layer.
assert not any(n.startswith("bin/") for n in names) and "etc/passwd" not in names, sorted(names)
hist = [h.get("created_by", "") for h in cfg["history"]]
assert any("run: rm -rf /usr/share/doc && echo new=2 > /etc/app.conf" in h for h in hist), hist
PY
pass "the run layer holds the changes, a whiteout for the deleted tree and nothing else"
rm -rf bundle && umoci_unpack out1/runl 1.0 bundle >/dev/null
[[ ! -e bundle/rootfs/usr/share/doc ]] || fail "umoci: /usr/share/doc is still there"
expect_eq "umoci: changed file" "new=2" "$(cat bundle/rootfs/etc/app.conf)"
expect_eq "umoci: new file" "made" "$(cat bundle/rootfs/root/state/sub/file)"
expect_eq "umoci: base untouched" "busybox" "$(readlink bundle/rootfs/bin/sh)"
rc=0
client_podman_setup "$WORK/podman" 2>podman.err || rc=$?
if [[ $rc -eq 77 ]]; then
  echo "SKIP: podman run: $(tail -n 1 podman.err)"
else
  trap 'client_podman_cleanup; rm -rf "$WORK"' EXIT
  image=$(client_podman_load out1/runl.tar) || fail "podman load"
  rc=0
  out=$(client_podman_run "$image" 'cat /etc/app.conf; ls /usr/share/doc 2>&1 || echo gone') || rc=$?
  if [[ $rc -eq 77 ]]; then
    echo "SKIP: podman run: containers cannot run here"
  else
    grep -qx "new=2" <<<"$out" && grep -qx gone <<<"$out" || fail "podman: $out"
    pass "podman runs the image: the change is there, the deleted tree is gone"
  fi
fi

# (2) the copy path (forced) gives the same image; (3) a rebuild is a cache hit.
d2=$(STRATA_RUN_LAYER_COPY=1 "$STRATA" build good/strata.yaml -o out2 --cache "$WORK/cache2" 2>>build.err | tail -n 1) ||
  { cat build.err; fail "copy-path build"; }
expect_eq "STRATA_RUN_LAYER_COPY=1 gives the same digest" "$d1" "$d2"
made_by() { python3 -c 'import json,sys,glob; print(" ".join(json.load(open(f))["made_by"] for f in sorted(glob.glob(sys.argv[1] + "/run-layers/sha256/*/entries.json"))))' "$1"; }
expect_eq "STRATA_RUN_LAYER_COPY=1 took the copy path" "copy" "$(made_by "$WORK/cache2")"
if [[ "$(made_by "$CACHE")" == overlayfs ]]; then
  pass "the default build took the overlayfs path, so both paths were compared"
else
  echo "note: the kernel refused the writable overlayfs; both builds took the copy path"
fi
ls "$CACHE"/run-layers/sha256/ | grep -Eq '^[0-9a-f]{64}$' || fail "no run-layer cache entry"
: >build.err
d3=$(build good/strata.yaml -o out3) || { cat build.err; fail "rebuild"; }
expect_eq "a rebuild gives the same digest" "$d1" "$d3"
# A command whose output differs every run: only a cache hit gives the same digest twice.
write_spec stamp "date +%s%N > /root/stamp"
s1=$(build stamp/strata.yaml -o outs1) && s2=$(build stamp/strata.yaml -o outs2) || { cat build.err; fail "stamp builds"; }
expect_eq "the second build takes the run layer from the cache" "$s1" "$s2"
"$STRATA" cache list --cache "$CACHE" | grep -q "^run-layer" || fail "strata cache list shows no run-layer entry"
pass "strata cache list shows the run layer"

# (4) a failing command: the layer, the command, its status and output; nothing written.
write_spec bad "echo starting; echo oops >&2; exit 3"
rc=0
"$STRATA" build bad/strata.yaml -o outbad --cache "$CACHE" >bad.out 2>bad.err || rc=$?
expect_eq "a failing command: exit code" 1 "$rc"
grep -Fq "bad/strata.yaml:" bad.err && grep -Fq "layer 2: run command 1 'echo starting; echo oops >&2; exit 3' exited with status 3" bad.err &&
  grep -Fq "oops" bad.err || { cat bad.err; fail "a failing command's message"; }
pass "a failing command names the spec location, layer, command, status and output"
sed 's/^/  | /' bad.err
[[ ! -e outbad/runl && ! -s bad.out ]] || fail "a failing build wrote output"
[[ -z "$(ls -A "$CACHE/run-layers/tmp" 2>/dev/null)" ]] || fail "a failing run layer left scratch files: $(ls -A "$CACHE/run-layers/tmp")"
pass "nothing half-written is left"

# (5) a hostile command cannot reach the host: not /tmp, not the cache, not the network.
marker="$WORK/host-marker"
echo original >"$marker"
write_spec evil "echo pwned > $marker 2>/dev/null; echo pwned > /tmp/x; ls $CACHE >/dev/null 2>&1 && touch /root/saw-cache; true"
d5=$(build evil/strata.yaml -o outevil) || { cat build.err; fail "hostile build"; }
expect_eq "host file unchanged" "original" "$(cat "$marker")"
rm -rf bundle5 && umoci_unpack outevil/runl 1.0 bundle5 >/dev/null
[[ ! -e bundle5/rootfs/root/saw-cache ]] || fail "the command saw the cache directory"
[[ ! -e bundle5/rootfs/tmp/x ]] || fail "/tmp writes went into the layer"
pass "a hostile command changes nothing outside its root"

# (6) strata verify rebuilds the run layer and matches.
"$STRATA" verify out1/runl --provenance out1/runl.provenance.json --spec good/strata.yaml --cache "$CACHE" >verify.out 2>verify.err ||
  { cat verify.out verify.err; fail "strata verify"; }
pass "strata verify rebuilds the image with its run layer"

# The unprivileged path: the same build as uid 65534 gives the same digest.
probe_nobody
if [[ -n "$NOBODY_SKIP" ]]; then
  echo "SKIP: as uid 65534: $NOBODY_SKIP"
else
  probe_sandbox as_nobody
  if [[ -n "$SANDBOX_SKIP" ]]; then
    echo "SKIP: as uid 65534: $SANDBOX_SKIP"
  else
    chmod -R a+rX "$WORK/out" "$WORK/app" good
    mkdir -m 777 nobody
    dn=$(as_nobody "$STRATA" build good/strata.yaml -o nobody/out --cache nobody/cache 2>nobody.err | tail -n 1) ||
      { cat nobody.err; fail "build as uid 65534"; }
    expect_eq "as uid 65534: the same digest" "$d1" "$dn"
    # The copy path reads every file back, /etc/shadow (mode 0000) too.
    dc=$(STRATA_RUN_LAYER_COPY=1 as_nobody "$STRATA" build good/strata.yaml -o nobody/out2 --cache nobody/cache2 2>nobody.err | tail -n 1) ||
      { cat nobody.err; fail "copy-path build as uid 65534"; }
    expect_eq "as uid 65534, the copy path: the same digest" "$d1" "$dc"
  fi
fi

# (7) update-ca-certificates over a `debs: [ca-certificates]` layer: needs the real .debs
# (ca-certificates, and openssl with the libraries it links, for `openssl rehash`) that
# tests/tools/fetch_test_debs.sh downloads (run by .ci/install-deps), served as a signed
# repository on 127.0.0.1.
real_debs=${STRATA_TEST_DEBS:-/var/cache/strata-tests/debs}
debs=()
for name in ca-certificates openssl libssl3 libc6; do
  deb=$(ls "$real_debs/${name}"_*.deb 2>/dev/null | head -n 1 || true)
  [[ -n "$deb" ]] && debs+=("$deb") || missing="${missing:-} $name"
done
if [[ -n "${missing:-}" ]]; then
  echo "SKIP: update-ca-certificates: no .deb in $real_debs for:$missing (tests/tools/fetch_test_debs.sh)"
else
  ARCH=$(dpkg --print-architecture)
  export GNUPGHOME="$WORK/gnupg"
  source "$E2E_DIR/lib/debian_repo.sh"
  # The whole downloaded closure: the two packages' dependencies (debconf, perl-base, ...).
  mkdir -p pool && cp "$real_debs"/*.deb pool/
  debrepo_keys
  debrepo_make repo
  debrepo_serve "$WORK/repo"
  trap 'kill "$DEBREPO_PID" 2>/dev/null; client_podman_cleanup 2>/dev/null; rm -rf "$WORK"' EXIT
  mkdir -p ca
  printf 'apiVersion: strata/v1\nname: ca\nversion: "1.0"\nepoch: 1700000000\n' >ca/strata.yaml
  printf 'debian:\n  architecture: %s\n  repositories:\n    - {url: "%s", suite: stable, keyring: %s/keyring.gpg}\n' \
    "$ARCH" "$DEBREPO_BASE" "$WORK" >>ca/strata.yaml
  # The first command is what the postinst's debconf step writes (every certificate enabled).
  cat >>ca/strata.yaml <<EOF
image:
  base: ../out/busybox@$base
  layers:
    - debs: [ca-certificates, openssl]
    - run:
        - cd /usr/share/ca-certificates && find . -name '*.crt' | sed 's|^\./||' | sort > /etc/ca-certificates.conf
        - update-ca-certificates
EOF
  "$STRATA" lock ca/strata.yaml --cache "$CACHE" >/dev/null 2>ca.err || { cat ca.err; fail "lock ca-certificates"; }
  build ca/strata.yaml -o outca >/dev/null || { cat build.err; fail "update-ca-certificates build"; }
  rm -rf bundleca && umoci_unpack outca/ca 1.0 bundleca >/dev/null
  [[ -s bundleca/rootfs/etc/ssl/certs/ca-certificates.crt ]] || { cat build.err; ls -la bundleca/rootfs/etc/ssl/certs | head; fail "no ca-certificates.crt"; }
  links=$(ls bundleca/rootfs/etc/ssl/certs/ | grep -Ec '^[0-9a-f]{8}\.[0-9]$' || true)
  ((links > 100)) || fail "only $links hashed certificate links"
  certs=$(grep -c 'BEGIN CERTIFICATE' bundleca/rootfs/etc/ssl/certs/ca-certificates.crt)
  ((certs > 100)) || fail "only $certs certificates in the bundle"
  echo "update-ca-certificates: $certs certificates, $links hashed links"
  pass "update-ca-certificates makes the bundle and the hashed links"
fi
echo "run_layers: all checks passed"
