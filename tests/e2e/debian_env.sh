#!/usr/bin/env bash
# Build environments from Debian packages (docs/build-environments.md, "rootfs: debs"): the
# real Debian 12 packages that tests/tools/fetch_test_debs.sh downloads (.ci/install-deps)
# served as a signed repository on 127.0.0.1, named to strata as the host's apt sources
# (STRATA_APT_ETC), so examples/debian-app is locked and built unchanged. Checks: the lock's
# environment section (the Essential set added, byte-identical when made again); the build
# (autoreconf, configure, libtool, make in the debs tree); podman runs the program; a
# simulated host package change (the host's dpkg status file, bind-mounted over in a private
# mount namespace) changes no package key with rootfs: debs and does change the key of a
# rootfs: host spec (the control); a second build is a cache hit with the same digest; the
# provenance lists the environment's .debs and the SBOM does not; a spec/lock mismatch says
# to run `strata lock`; `strata cache list` lists the tree.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/debian_repo.sh"

for tool in apt-ftparchive gpg gpgv xz python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (.ci/install-deps)"
done
require_real_debs
probe_sandbox
[[ -z $SANDBOX_SKIP ]] || skip "$SANDBOX_SKIP"
ARCH=$(dpkg --print-architecture)
[[ $ARCH == amd64 ]] || skip "the test packages are amd64 ones, this is $ARCH"

cd "$WORK"
export GNUPGHOME="$WORK/gnupg"
debrepo_keys
mkdir www
POOL=$REAL_DEBS debrepo_make www/debian
debrepo_serve "$WORK/www"
server_pid=$DEBREPO_PID
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT

# The "host's" apt sources: the local repository, in deb822 form with its Signed-By keyring.
mkdir -p apt/sources.list.d
cat >apt/sources.list.d/test.sources <<EOF
Types: deb
URIs: $DEBREPO_BASE/debian
Suites: stable
Components: main
Signed-By: $WORK/keyring.gpg
EOF
export STRATA_APT_ETC=$WORK/apt
CACHE=$WORK/cache

cp -r "$SOURCE_DIR/examples/debian-app" app
rm -f app/strata.lock
"$STRATA" lock app/strata.yaml --cache "$CACHE" >lock.out 2>lock.err || { cat lock.err; fail "strata lock"; }
python3 - app/strata.lock <<'PY' || fail "the lock's environment section"
import json, sys
lock = json.load(open(sys.argv[1]))
env = lock["environment"]
names = {p["name"] for p in env["packages"]}
for n in ("build-essential", "autoconf", "automake", "libtool", "gcc-12", "make", "perl", "m4",
          "dash", "coreutils", "libc6", "bash", "sed", "grep", "diffutils", "findutils"):
    assert n in names, n
assert set(env["roots"]) == {"build-essential", "autoconf", "automake", "libtool"}, env["roots"]
assert lock["inputs"]["environment"] == ["build-essential", "autoconf", "automake", "libtool"]
assert [p["name"] for p in env["packages"]] == sorted(names)
layer = {p["name"] for p in lock["packages"]}
assert "libc6" in layer and "gcc-12" not in layer, layer
for p in env["packages"]:
    assert p["url"].startswith("http://127.0.0.1:"), p["url"]
print(len(env["packages"]), "environment packages")
PY
cp app/strata.lock lock.first
"$STRATA" lock app/strata.yaml --cache "$CACHE" >/dev/null 2>&1 || fail "strata lock again"
cmp -s lock.first app/strata.lock || fail "the lock changed when made again"
pass "strata lock writes the environment section (with the Essential set), byte-reproducibly"

# --- build in the debs tree -----------------------------------------------------------------
explain() {  # explain OUT LOG [ARGS...]: builds app with --explain-cache hello; prints the digest
  local out=$1 log=$2
  shift 2
  "$STRATA" build app/strata.yaml -o "$out" --cache "$CACHE" --explain-cache hello "$@" 2>"$log" |
    tail -n 1
}
key_of() { sed -n "s/^strata: cache: package '$2': .*(key \(sha256:[0-9a-f]*\).*/\1/p" "$1" | head -n1; }
d1=$(explain out build1.log --archive) || true
[[ $d1 == sha256:* ]] || { tail -n 40 build1.log; fail "build examples/debian-app"; }
k1=$(key_of build1.log hello)
[[ -n $k1 ]] || { cat build1.log; fail "no key explained"; }
entries=$(find "$CACHE/rootfs/debs" -mindepth 1 -maxdepth 1 -type d | wc -l)
expect_eq "one debs rootfs entry" 1 "$entries"
tree=$(find "$CACHE/rootfs/debs" -mindepth 2 -maxdepth 2 -name rootfs)
[[ $(readlink "$tree/usr/bin/cc") == gcc && $(readlink "$tree/bin") == usr/bin ]] ||
  fail "the tree lacks its toolchain links"
"$STRATA" cache list --cache "$CACHE" >cache.list || fail "strata cache list"
grep -q "^rootfs .* rootfs/debs/[0-9a-f]\{64\}$" cache.list || { cat cache.list; fail "strata cache list shows the debs rootfs"; }
pass "examples/debian-app builds in its rootfs: debs environment"

python3 - out/debian-app.provenance.json out/debian-app.spdx.json app/strata.lock <<'PY' ||
import json, sys
prov = json.load(open(sys.argv[1]))
deps = prov["predicate"]["buildDefinition"]["resolvedDependencies"]
envdebs = [d for d in deps if d["annotations"]["role"] == "environment-deb"]
lock = json.load(open(sys.argv[3]))
want = [(p["name"], p["version"], p["url"], p["sha256"]) for p in lock["environment"]["packages"]]
got = [(d["name"], d["annotations"]["version"], d["uri"], "sha256:" + d["digest"]["sha256"]) for d in envdebs]
assert got == want, (got[:3], want[:3])
sbom = json.load(open(sys.argv[2]))
names = {p["name"] for p in sbom["packages"]}
assert "libc6" in names and "gcc-12" not in names and "make" not in names, sorted(names)
PY
  fail "the provenance lists the environment's .debs, the SBOM only the image's"
pass "the provenance lists every environment .deb; the SBOM only what the image holds"

d2=$(explain out2 build2.log) || true
expect_eq "a second build gives the same digest" "$d1" "$d2"
grep -q "package 'hello': hit (key $k1, the same as last time)" build2.log ||
  { cat build2.log; fail "the second build is not a cache hit"; }
pass "a second build is a cache hit"

# --- a host package change --------------------------------------------------------------------
# The host's dpkg status with one toolchain package's version changed, bind-mounted over the
# real one in a private mount namespace: what the host toolchain identity reads.
if [[ $EUID -ne 0 ]] || ! unshare -m --propagation private true 2>/dev/null; then
  echo "SKIP: the simulated host package change needs root and unshare -m"
elif [[ ! -f /var/lib/dpkg/status ]]; then
  echo "SKIP: no dpkg status file on this host to change"
else
  python3 - /var/lib/dpkg/status status.changed <<'PY' || fail "change the dpkg status copy"
import sys
text = open(sys.argv[1]).read()
stanzas = text.split("\n\n")
for i, s in enumerate(stanzas):
    lines = s.split("\n")
    if "Package: coreutils" in lines and any(l.startswith("Status: ") and l.endswith(" installed") for l in lines):
        stanzas[i] = "\n".join(l + "+strata.test" if l.startswith("Version: ") else l for l in lines)
        break
else:
    sys.exit("coreutils is not installed")
open(sys.argv[2], "w").write("\n\n".join(stanzas))
PY
  on_changed_host() {  # on_changed_host CMD...: CMD with the changed status file in place
    unshare -m --propagation private bash -c 'mount --bind "$0" /var/lib/dpkg/status && exec "$@"' \
      "$WORK/status.changed" "$@"
  }
  d3=$(on_changed_host "$STRATA" build app/strata.yaml -o out3 --cache "$CACHE" --explain-cache hello 2>build3.log | tail -n 1) || true
  expect_eq "rootfs: debs: the digest on a changed host" "$d1" "$d3"
  grep -q "package 'hello': hit (key $k1, the same as last time)" build3.log ||
    { cat build3.log; fail "rootfs: debs: the host change changed the key"; }
  pass "rootfs: debs: a host package change changes no package key"

  # The control: the same kind of package with rootfs: host.
  mkdir host
  cat >host/strata.yaml <<'EOF'
apiVersion: strata/v1
name: host-env
packages:
  - name: hello
    steps: ['printf hi > "$DESTDIR/hi"']
image:
  layers:
    - packages: [hello]
EOF
  "$STRATA" build host/strata.yaml -o hout --cache "$CACHE" --explain-cache hello 2>host1.log >/dev/null ||
    { cat host1.log; fail "build the rootfs: host control"; }
  on_changed_host "$STRATA" build host/strata.yaml -o hout --cache "$CACHE" --explain-cache hello 2>host2.log >/dev/null ||
    { cat host2.log; fail "build the rootfs: host control on the changed host"; }
  [[ $(key_of host1.log hello) != "$(key_of host2.log hello)" ]] ||
    { cat host2.log; fail "rootfs: host: the host change did not change the key"; }
  grep -q '/environment/host/dpkg/coreutils:.*"+strata.test\|coreutils' host2.log ||
    { cat host2.log; fail "rootfs: host: the explanation does not name coreutils"; }
  pass "rootfs: host (control): the same change changes the key"
fi

# --- the image runs -----------------------------------------------------------------------------
rc=0
client_podman_setup "$WORK/podman" || rc=$?
if [[ $rc -eq 77 ]]; then
  echo "SKIP: podman cannot be used here"
else
  trap 'client_podman_cleanup; kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT
  image=$(client_podman_load out/debian-app.tar)
  rc=0
  said=$(client_podman_run "$image") || rc=$?
  if [[ $rc -eq 77 ]]; then
    echo "SKIP: podman cannot run containers here"
  else
    expect_eq "podman runs the program" "hello, podman, from a Debian-built toolchain" "$said"
  fi
fi

# --- a spec/lock mismatch ----------------------------------------------------------------------
sed -i 's/debs: \[build-essential, autoconf, automake, libtool\]/debs: [build-essential, autoconf, automake]/' app/strata.yaml
rc=0
"$STRATA" build app/strata.yaml -o out4 --cache "$CACHE" >/dev/null 2>mismatch.err || rc=$?
expect_eq "a changed environment.debs: exit code" 2 "$rc"
grep -q "does not match the spec.*run 'strata lock\|does not match the spec.*run \`strata lock" mismatch.err ||
  { cat mismatch.err; fail "the mismatch does not say to run strata lock"; }
pass "a spec/lock mismatch says to run strata lock"
