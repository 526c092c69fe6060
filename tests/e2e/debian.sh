#!/usr/bin/env bash
# Debian packages (docs/debian-packages.md): a signed repository made here (dpkg-deb,
# apt-ftparchive, a throw-away gpg key) and served on 127.0.0.1; `strata lock` resolves a
# spec's debs into strata.lock, `strata build` turns the locked .debs into layers with
# status.d and SBOM entries. Then each bad input: a bad, missing or unknown signature, a
# Packages index that is not the Release file's, a .deb that is not the lock's, an
# unsatisfiable dependency, hostile .debs and a lock that does not match the spec.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/debian_repo.sh"

for tool in dpkg-deb apt-ftparchive gpg gpgv xz python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (.ci/install-deps)"
done
VALIDATE="$SOURCE_DIR/tests/tools/validate_json_schema.py"
ARCH=$(dpkg --print-architecture)

cd "$WORK"
export GNUPGHOME="$WORK/gnupg"
debrepo_keys
mkdir -m 700 "$WORK/gnupg-other"
GNUPGHOME="$WORK/gnupg-other" gpg --batch --quiet --passphrase '' \
  --quick-gen-key "someone else <other@example.invalid>" ed25519 sign never 2>/dev/null

# mkdeb NAME VERSION ARCH [CONTROL-LINES...]: a small .deb in pool/ with a file, a symlink,
# a hardlink and a machine-readable copyright file.
mkdeb() {
  local name=$1 version=$2 arch=$3 root="$WORK/pkgs/$1-$2"
  shift 3
  mkdir -p "$root/DEBIAN" "$root/usr/share/$name" "$root/usr/bin" "$root/usr/share/doc/$name"
  printf '%s %s\n' "$name" "$version" >"$root/usr/share/$name/data.txt"
  printf '#!/bin/sh\necho %s\n' "$name" >"$root/usr/bin/$name"
  chmod 755 "$root/usr/bin/$name"
  ln "$root/usr/bin/$name" "$root/usr/bin/$name-again"
  ln -s "../share/$name/data.txt" "$root/usr/bin/$name-data"
  cat >"$root/usr/share/doc/$name/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: $name

Files: *
Copyright: 2026 nobody
License: GPL-2+
 text
EOF
  {
    printf 'Package: %s\nVersion: %s\nArchitecture: %s\n' "$name" "$version" "$arch"
    printf 'Maintainer: strata tests <t@example.invalid>\n'
    (($# == 0)) || printf '%s\n' "$@"
    printf 'Description: %s for strata tests\n a test package\n' "$name"
  } >"$root/DEBIAN/control"
  (cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
  mkdir -p "$WORK/pool"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$WORK/pool/${name}_${version}_$arch.deb" >/dev/null
}

mkdeb app 1.0-1 "$ARCH" 'Depends: libgreet (>= 1.0), mail-transport-agent, nothing-here | libgreet'
mkdeb libgreet 1.0-1 all 'Pre-Depends: base-thing'
mkdeb libgreet 0.9-1 all 'Pre-Depends: base-thing'
mkdeb base-thing 2-1 all
mkdeb mta-fake 3-1 all 'Provides: mail-transport-agent'
mkdeb essential-thing 1-1 all 'Essential: yes'
mkdeb scripted 1-1 all 'Depends: base-thing'
mkdir -p "$WORK/pkgs/scripted-1-1/DEBIAN"
printf '#!/bin/sh\nexit 0\n' >"$WORK/pkgs/scripted-1-1/DEBIAN/postinst"
chmod 755 "$WORK/pkgs/scripted-1-1/DEBIAN/postinst"
dpkg-deb --root-owner-group -Zxz --build "$WORK/pkgs/scripted-1-1" "$WORK/pool/scripted_1-1_all.deb" >/dev/null
mkdeb broken 1-1 all 'Depends: nonexistent (>= 2)'

# Hostile .debs, written byte by byte (dpkg-deb would refuse to build them).
python3 - "$WORK/pool" <<'PY'
import io, sys, tarfile
pool = sys.argv[1]
def tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()
def reg(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; return (i, data)
def ar(members):
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        if len(data) % 2: out += b"\n"
    return out
def deb(name, data_members):
    control = f"Package: {name}\nVersion: 1-1\nArchitecture: all\nMaintainer: x <x@example.invalid>\nDescription: hostile\n".encode()
    with open(f"{pool}/{name}_1-1_all.deb", "wb") as f:
        f.write(ar([("debian-binary", b"2.0\n"), ("control.tar.gz", tar([reg("./control", control)])),
                    ("data.tar.gz", tar(data_members))]))
deb("evil-traversal", [reg("./../../../tmp/strata-evil")])
link = tarfile.TarInfo("./usr/lib/escape"); link.type = tarfile.SYMTYPE; link.linkname = "../../../../etc/shadow"
deb("evil-symlink", [(link, None)])
dev = tarfile.TarInfo("./dev/mem"); dev.type = tarfile.CHRTYPE; dev.devmajor = 1; dev.devminor = 1; dev.mode = 0o600
deb("evil-device", [(dev, None)])
PY

# A real Debian package from the apt cache, when there is one: busybox-static, with an epoch
# in its version (the file name without the "%3a" apt gives it, which a URL would decode).
real_bb=$(ls /var/cache/apt/archives/busybox-static_*_"$ARCH".deb 2>/dev/null | head -n1 || true)
[[ -n $real_bb ]] && cp "$real_bb" "$WORK/pool/busybox-static_real_$ARCH.deb"

mkrepo() { debrepo_make "$@"; }
mkdir www
mkrepo www/good
mkrepo www/other-key "$WORK/gnupg-other"
mkrepo www/badsig
sed -i 's/^Codename: bookworm/Codename: trixie/' www/badsig/dists/stable/InRelease
mkrepo www/nosig
rm www/nosig/dists/stable/InRelease www/nosig/dists/stable/Release.gpg
mkrepo www/badindex
printf 'Package: sneaky\n' | xz >www/badindex/dists/stable/main/binary-$ARCH/Packages.xz

# The server: 127.0.0.1 only, a bounded number of requests and a bounded lifetime.
debrepo_serve "$WORK/www"
server_pid=$DEBREPO_PID
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT
BASE=$DEBREPO_BASE

# myspec DIR REPO LAYERS...: a spec in DIR over repository REPO with one layer per argument.
myspec() {
  local dir=$1 repo=$2
  shift 2
  mkdir -p "$dir"
  cp -n keyring.gpg "$dir/keyring.gpg" 2>/dev/null || true
  {
    printf 'apiVersion: strata/v1\nname: debs\ndebian:\n  repositories:\n'
    printf '    - url: %s/%s\n      suite: stable\n      components: [main]\n      keyring: keyring.gpg\n' "$BASE" "$repo"
    printf 'image:\n  layers:\n'
    for l in "$@"; do printf '    - debs: [%s]\n' "$l"; done
  } >"$dir/strata.yaml"
}
CACHE="$WORK/cache"

# --- lock and build -----------------------------------------------------------------------
myspec a good "app" "scripted"
"$STRATA" lock a/strata.yaml --cache "$CACHE" >lock.out 2>lock.err || { cat lock.err; fail "strata lock"; }
python3 - a/strata.lock "$ARCH" <<'PY' || fail "the lock holds the resolved packages"
import json, sys
lock = json.load(open(sys.argv[1]))
got = {p["name"]: p["version"] for p in lock["packages"]}
want = {"app": "1.0-1", "libgreet": "1.0-1", "base-thing": "2-1", "mta-fake": "3-1", "scripted": "1-1"}
assert got == want, got
app = [p for p in lock["packages"] if p["name"] == "app"][0]
assert app["architecture"] == sys.argv[2] and app["distro"] == "debian-12", app
assert app["depends"] == ["libgreet", "mta-fake"], app["depends"]
assert app["sha256"].startswith("sha256:") and app["size"] > 0 and app["url"].endswith(".deb")
assert lock["repositories"][0]["release"].startswith("sha256:")
PY
pass "lock: versions, virtual packages, alternatives; no Essential package pulled in"
cp a/strata.lock first.lock
"$STRATA" lock a/strata.yaml --cache "$CACHE" >lock.out 2>&1 || fail "lock again: $(cat lock.out)"
grep -q 'up to date' lock.out || fail "lock again: $(cat lock.out)"
rm a/strata.lock
"$STRATA" lock a/strata.yaml --cache "$CACHE" >/dev/null 2>&1 || fail "lock from scratch"
cmp first.lock a/strata.lock || fail "the lock is not byte-identical when regenerated"
"$STRATA" lock a/strata.yaml --update --cache "$CACHE" >update.out 2>&1 || fail "lock --update: $(cat update.out)"
cmp first.lock a/strata.lock || fail "lock --update changed a lock whose repositories did not change"
pass "lock: byte-identical when regenerated (and with --update)"

# strata pin --check treats the lock as a pin: current, then stale once the spec's debs change.
"$STRATA" pin a/strata.yaml --check --cache "$CACHE" >pin.out 2>&1 || fail "pin --check with a current lock: $(cat pin.out)"
grep -Fq 'strata.lock: 5 packages ok' pin.out || fail "pin --check: $(cat pin.out)"
mkdir stale && cp a/strata.yaml a/strata.lock a/keyring.gpg stale/
sed -i 's/debs: \[scripted\]/debs: [scripted, base-thing]/' stale/strata.yaml
rc=0
"$STRATA" pin stale/strata.yaml --check --cache "$CACHE" >pin.out 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "pin --check over a stale lock: exit $rc: $(cat pin.out)"
grep -Fq "stale: the spec's debs or its repositories changed; run \`strata lock stale/strata.yaml\`" pin.out ||
  fail "pin --check over a stale lock: $(cat pin.out)"
cmp a/strata.lock stale/strata.lock || fail "pin --check rewrote the lock"
pass "pin --check: a current lock passes, a stale one fails naming strata lock"

# --- the host's apt sources ---------------------------------------------------------------
# `repositories: [host]` with STRATA_APT_ETC pointing at apt configurations made here.
hostspec() {
  mkdir -p "$1"
  printf 'apiVersion: strata/v1\nname: debs\ndebian:\n  repositories: [host]\nimage:\n  layers:\n    - debs: [app]\n    - debs: [scripted]\n' >"$1/strata.yaml"
}
# deb822 with a Signed-By file, beside a deb-src stanza, a disabled one and a cdrom: line.
mkdir -p etc822/sources.list.d
printf 'deb cdrom:[Debian 12]/ bookworm main\n' >etc822/sources.list
printf '%s\n' "Types: deb-src" "URIs: $BASE/nowhere" "Suites: stable" "Components: main" "" \
  "Types: deb" "URIs: $BASE/badsig" "Suites: stable" "Components: main" "Enabled: no" "" \
  "Types: deb" "URIs: $BASE/good/" "Suites: stable" "Components: main" \
  "Signed-By: $WORK/keyring.gpg" >etc822/sources.list.d/local.sources
hostspec h822
STRATA_APT_ETC=$WORK/etc822 "$STRATA" lock h822/strata.yaml --cache "$CACHE" >host.out 2>host.err ||
  fail "lock with deb822 host sources: $(cat host.err)"
grep -Fq "sources.list:1: cdrom:[Debian 12]/: strata fetches only http, https and file URIs; skipped" host.err ||
  fail "no warning about the cdrom: source: $(cat host.err)"
python3 - h822/strata.lock first.lock "$BASE/good" <<'PY' || fail "the host lock holds the spec lock's packages"
import json, sys
host, spec = (json.load(open(f)) for f in sys.argv[1:3])
assert host["inputs"]["repositories"] == [{"host": True}], host["inputs"]
assert host["packages"] == spec["packages"], "packages differ"
assert [r["url"] for r in host["repositories"]] == [sys.argv[3]], host["repositories"]
PY
# A one-line sources.list whose key is an ASCII-armored file in trusted.gpg.d.
mkdir -p etclist/trusted.gpg.d
printf '# the local mirror\ndeb %s/good stable main\n' "$BASE" >etclist/sources.list
GNUPGHOME="$WORK/gnupg" gpg --batch --quiet --armor --export >etclist/trusted.gpg.d/repo.asc
hostspec hlist
STRATA_APT_ETC=$WORK/etclist "$STRATA" lock hlist/strata.yaml --cache "$CACHE" >host.out 2>host.err ||
  fail "lock with one-line host sources and an armored trusted key: $(cat host.err)"
cmp h822/strata.lock hlist/strata.lock || fail "the two host configurations locked differently"
# The build never reads /etc/apt.
dh=$(STRATA_APT_ETC=/nonexistent "$STRATA" build hlist/strata.yaml -o outh --cache "$CACHE" 2>host.err | tail -n1)
[[ $dh == sha256:* ]] || fail "build from a host lock: $(cat host.err)"
# A key the repository is not signed with, named by [signed-by=]: refused, nothing written.
mkdir -p etcother
GNUPGHOME="$WORK/gnupg-other" gpg --batch --quiet --export >etcother/other.gpg
printf 'deb [signed-by=%s/etcother/other.gpg] %s/good stable main\n' "$WORK" "$BASE" >etcother/sources.list
hostspec hother
rc=0
STRATA_APT_ETC=$WORK/etcother "$STRATA" lock hother/strata.yaml --cache "$CACHE" >host.out 2>host.err || rc=$?
[[ $rc -ne 0 && ! -e hother/strata.lock ]] || fail "a host source signed by another key was accepted"
grep -Fq "$BASE/good" host.err || fail "the error does not name the source: $(cat host.err)"
# trusted=yes is never honoured.
mkdir -p etcinsecure
printf 'deb [trusted=yes] %s/nosig stable main\n' "$BASE" >etcinsecure/sources.list
hostspec hinsecure
rc=0
STRATA_APT_ETC=$WORK/etcinsecure "$STRATA" lock hinsecure/strata.yaml --cache "$CACHE" >host.out 2>host.err || rc=$?
[[ $rc -ne 0 && ! -e hinsecure/strata.lock ]] || fail "a trusted=yes source was used"
grep -Fq "trusted=yes (no signature check) is not something strata does; skipped" host.err &&
  grep -Fq "lists no deb source" host.err || fail "trusted=yes: $(cat host.err)"
pass "host apt sources: deb822 and one-line, Signed-By and trusted.gpg.d; wrong keys and trusted=yes refused"

"$STRATA" validate a/strata.yaml >/dev/null 2>validate.err || { cat validate.err; fail "validate with a lock"; }
d1=$("$STRATA" build a/strata.yaml -o out1 --cache "$CACHE" 2>build1.err | tail -n1)
[[ $d1 == sha256:* ]] || { cat build1.err; fail "build"; }
grep -Fq "strata: warning: deb 'scripted' has maintainer scripts (postinst) that strata does not run" build1.err ||
  { cat build1.err; fail "no warning about maintainer scripts"; }
d2=$("$STRATA" build a/strata.yaml -o out2 --cache "$CACHE" 2>/dev/null | tail -n1)
expect_eq "same digest twice" "$d1" "$d2"
"$STRATA" build a/strata.yaml -o out2 --cache "$CACHE" --json 2>/dev/null >again.json ||
  fail "a third build"
expect_eq "a rebuild compresses no layer again (the layer cache finds the debs' layers)" "local-cache" \
  "$(python3 -c 'import json,sys; print(" ".join(sorted({l["origin"] for l in json.load(open(sys.argv[1]))["layers"]})))' again.json)"
expect_eq "a lock of the host's sources builds the same image" "$d1" "$dh"
mkdir elsewhere && cp -r a elsewhere/b
d3=$(cd elsewhere && "$STRATA" build b/strata.yaml -o "$WORK/out3" --cache "$WORK/cache3" 2>/dev/null | tail -n1)
expect_eq "same digest from another directory and an empty cache" "$d1" "$d3"

# The layers: every .deb's entries as dpkg-deb -c lists them, status.d and md5sums.
python3 - out1/debs a/strata.lock "$WORK/pool" "$ARCH" <<'PY' || fail "layers, status.d and dpkg-deb -c"
import gzip, json, os, subprocess, sys, tarfile
layout, lockfile, pool, arch = sys.argv[1:]
def blob(d): return os.path.join(layout, "blobs", "sha256", d.split(":")[1])
index = json.load(open(os.path.join(layout, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
layers = []
for l in manifest["layers"]:
    with tarfile.open(blob(l["digest"])) as t:
        layers.append({m.name.rstrip("/"): m for m in t.getmembers()})
lock = json.load(open(lockfile))
assert len(layers) == 2, len(layers)
expect = [{"app", "libgreet", "base-thing", "mta-fake"}, {"scripted"}]
for i, names in enumerate(expect):
    status = {n[len("var/lib/dpkg/status.d/"):] for n, m in layers[i].items()
              if n.startswith("var/lib/dpkg/status.d/") and m.isfile() and not n.endswith(".md5sums")}
    assert status == names, (i, status)
    files = set()
    for p in lock["packages"]:
        if p["name"] not in names: continue
        control = layers[i]["var/lib/dpkg/status.d/" + p["name"]]
        assert "var/lib/dpkg/status.d/%s.md5sums" % p["name"] in layers[i], p["name"]
        deb = os.path.join(pool, os.path.basename(p["url"]))
        listing = subprocess.run(["dpkg-deb", "-c", deb], check=True, capture_output=True, text=True).stdout
        for line in listing.splitlines():
            fields = line.split(None, 5)
            path = fields[5].split(" -> ")[0].split(" link to ")[0]
            path = path[2:].rstrip("/") if path.startswith("./") else path
            if not path: continue
            assert path in layers[i], (p["name"], path)
            m = layers[i][path]
            kind = {"d": "dir", "-": "file", "l": "link", "h": "hard"}[fields[0][0]]
            if " link to " in fields[5]: kind = "hard"
            ok = {"dir": m.isdir(), "file": m.isfile() or m.islnk(), "link": m.issym(), "hard": m.islnk() or m.isfile()}[kind]
            assert ok, (p["name"], path, kind)
            if not m.isdir(): files.add(path)
    status_files = {n for n, m in layers[i].items() if n.startswith("var/lib/dpkg/status.d/")}
    others = {n for n, m in layers[i].items() if not m.isdir()} - status_files
    assert others == files, (i, others ^ files)
PY
pass "each layer holds exactly its .debs' entries (dpkg-deb -c), status.d and md5sums"

python3 - out1/debs.spdx.json a/strata.lock "$ARCH" <<'PY' || fail "SPDX lists the locked packages"
import json, sys
sbom = json.load(open(sys.argv[1])); lock = json.load(open(sys.argv[2]))
purls = {}
for p in sbom["packages"]:
    for r in p.get("externalRefs", []):
        if r["referenceLocator"].startswith("pkg:deb/"): purls[p["name"]] = (r["referenceLocator"], p)
want = {p["name"] for p in lock["packages"]}
assert set(purls) == want, set(purls) ^ want
assert purls["app"][0] == "pkg:deb/debian/app@1.0-1?arch=%s&distro=debian-12" % sys.argv[3], purls["app"][0]
assert purls["app"][1]["licenseDeclared"] == "GPL-2.0-or-later", purls["app"][1]
ids = {p["SPDXID"]: p["name"] for p in sbom["packages"]}
files = {f["SPDXID"]: f["fileName"] for f in sbom["files"]}
app_files = {files[r["relatedSpdxElement"]] for r in sbom["relationships"]
             if r["relationshipType"] == "CONTAINS" and ids.get(r["spdxElementId"]) == "app" and r["relatedSpdxElement"] in files}
assert "./usr/share/app/data.txt" in app_files and "./usr/bin/app" in app_files, app_files
PY
out=$(python3 "$VALIDATE" spdx-schema.json out1/debs.spdx.json 2>&1) || fail "SPDX schema: $out"
python3 - out1/debs.provenance.json a/strata.lock <<'PY' || fail "the provenance lists the locked packages and the lock"
import hashlib, json, sys
deps = json.load(open(sys.argv[1]))["predicate"]["buildDefinition"]["resolvedDependencies"]
lock = json.load(open(sys.argv[2]))
debs = {d["name"]: d for d in deps if d["annotations"]["role"] == "deb"}
assert set(debs) == {p["name"] for p in lock["packages"]}, set(debs)
for p in lock["packages"]:
    d = debs[p["name"]]
    assert d["uri"] == p["url"] and "sha256:" + d["digest"]["sha256"] == p["sha256"], (d, p)
[l] = [d for d in deps if d["annotations"]["role"] == "lock"]
assert l["digest"]["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest(), l
PY
"$STRATA" verify out1/debs --provenance out1/debs.provenance.json --cache "$CACHE" >verify.out 2>&1 ||
  { cat verify.out; fail "verify of a debs image"; }
cp a/strata.lock lock.saved && printf '\n' >>a/strata.lock
if "$STRATA" verify out1/debs --provenance out1/debs.provenance.json --cache "$CACHE" >verify.out 2>&1; then
  fail "verify passed with a changed strata.lock"
fi
grep -q "strata.lock: digest mismatch: expected sha256:[0-9a-f]* (provenance), actual sha256:" verify.out ||
  { cat verify.out; fail "verify did not name the changed lock"; }
mv lock.saved a/strata.lock
pass "the provenance lists the .debs and the lock; verify names a lock that changed"

# A VEX statement about a deb names it by the SBOM's purl, with the .deb's sha256 (docs/vex.md).
cp -r a vexd
printf 'vex:\n  - {vulnerability: CVE-2024-0001, debs: [app], status: fixed}\n' >>vexd/strata.yaml
"$STRATA" build vexd/strata.yaml -o outv --cache "$CACHE" >/dev/null 2>outv.err || { cat outv.err; fail "build with a vex statement about a deb"; }
out=$(python3 "$VALIDATE" openvex_json_schema.json outv/debs.openvex.json 2>&1) || fail "OpenVEX schema: $out"
python3 - outv/debs.openvex.json outv/debs.spdx.json vexd/strata.lock <<'PY' || fail "the VEX names the deb by the SBOM's purl"
import json, sys
vex, sbom, lock = (json.load(open(p)) for p in sys.argv[1:])
purl = [r["referenceLocator"] for p in sbom["packages"] if p["name"] == "app" for r in p["externalRefs"]
        if r["referenceLocator"].startswith("pkg:deb/")][0]
sha = [p["sha256"] for p in lock["packages"] if p["name"] == "app"][0].removeprefix("sha256:")
sub = vex["statements"][0]["products"][0]["subcomponents"]
assert sub == [{"@id": purl, "identifiers": {"purl": purl}, "hashes": {"sha-256": sha}}], sub
PY
pass "VEX: a deb is a subcomponent by the SBOM's purl and the .deb's sha256"
"$STRATA" build a/strata.yaml -o outc --cache "$CACHE" --sbom-format cyclonedx >/dev/null 2>&1 || fail "build cyclonedx"
out=$(python3 "$VALIDATE" bom-1.6.schema.json outc/debs.cdx.json 2>&1) || fail "CycloneDX schema: $out"
python3 - outc/debs.cdx.json <<'PY' || fail "CycloneDX lists the locked packages"
import json, sys
bom = json.load(open(sys.argv[1]))
debs = sorted(c["name"] for c in bom["components"] if c.get("purl", "").startswith("pkg:deb/"))
assert debs == ["app", "base-thing", "libgreet", "mta-fake", "scripted"], debs
PY
pass "SBOMs (SPDX and CycloneDX, schema-valid) list each locked package with its purl, licence and files"

# expect_fail WHAT CODE MESSAGE CMD...: CMD exits CODE with MESSAGE on stderr.
expect_fail() {
  local what=$1 code=$2 message=$3 rc=0
  shift 3
  "$@" >err.out 2>err.txt || rc=$?
  [[ $rc -eq $code ]] || { cat err.txt; fail "$what: exit $rc, expected $code"; }
  grep -Fq -- "$message" err.txt || { cat err.txt; fail "$what: no '$message'"; }
  [[ -z ${E2E_VERBOSE:-} ]] || sed "s/^/    /" err.txt
  pass "$what"
}
# Locked versions are kept while the repository has them; --update NAME moves only NAME.
mkdir old-pool && cp pool/libgreet_0.9-1_all.deb pool/base-thing_2-1_all.deb old-pool/
POOL="$WORK/old-pool" mkrepo www/evolve
myspec evolve evolve libgreet
"$STRATA" lock evolve/strata.yaml --cache "$CACHE" >/dev/null 2>&1 || fail "lock evolve"
grep -Fq '"version": "0.9-1"' evolve/strata.lock || fail "evolve: libgreet 0.9-1 not locked"
rm -rf www/evolve && mkrepo www/evolve
"$STRATA" lock evolve/strata.yaml --cache "$CACHE" >/dev/null 2>&1 || fail "lock evolve again"
grep -Fq '"version": "0.9-1"' evolve/strata.lock || fail "strata lock moved a locked version"
expect_fail "--update names a locked package" 2 "holds no package 'nope'" \
  "$STRATA" lock evolve/strata.yaml --update nope --cache "$CACHE"
"$STRATA" lock evolve/strata.yaml --update libgreet --cache "$CACHE" >/dev/null 2>&1 || fail "lock --update libgreet"
grep -Fq '"version": "1.0-1"' evolve/strata.lock || fail "--update libgreet kept 0.9-1"
pass "strata lock keeps locked versions; --update NAME moves NAME to the newest"

# --- errors: nothing written or stored ---------------------------------------------------
lock_fails() {  # lock_fails WHAT REPO MESSAGE
  myspec "$WORK/e-$2" "$2" app
  expect_fail "$1" 1 "$3" "$STRATA" lock "$WORK/e-$2/strata.yaml" --cache "$CACHE"
  [[ ! -e "$WORK/e-$2/strata.lock" ]] || fail "$1: a lock was written"
}
lock_fails "a bad signature is refused" badsig "InRelease is not signed by a key of"
grep -Fq "BAD signature" err.txt || { cat err.txt; fail "gpgv's words are not in the message"; }
lock_fails "a key not in the keyring is refused" other-key "No public key"
lock_fails "a Release file without a signature is refused" nosig "Release has no signature"
lock_fails "a Packages index that does not match the signed Release file is refused" badindex \
  "main/binary-$ARCH/Packages.xz does not match the signed Release file"
myspec e-unsat good broken
expect_fail "an unsatisfiable dependency names the chain" 1 \
  "unsatisfiable dependency: broken (1-1) needs 'nonexistent (>= 2)'" \
  "$STRATA" lock e-unsat/strata.yaml --cache "$CACHE"
[[ ! -e e-unsat/strata.lock ]] || fail "a lock was written for an unsatisfiable spec"

# A spec that changed since the lock, and a spec without one.
myspec e-stale good "app" "scripted"
cp a/strata.lock e-stale/
myspec e-stale good "app" "scripted, essential-thing"
expect_fail "a spec/lock mismatch says to run strata lock" 2 "run \`strata lock" \
  "$STRATA" build e-stale/strata.yaml -o e-stale/out --cache "$CACHE"
[[ ! -e e-stale/out ]] || fail "spec/lock mismatch: output written"
expect_fail "validate reports the mismatch too" 2 "does not match" "$STRATA" validate e-stale/strata.yaml
rm e-stale/strata.lock
expect_fail "a missing lock says to run strata lock" 2 "there is no strata.lock beside it" \
  "$STRATA" build e-stale/strata.yaml -o e-stale/out --cache "$CACHE"

# A .deb whose sha256 or size is not the lock's: nothing stored, nothing written.
myspec e-sha good "app" "scripted"
wrong=$(printf '%s' wrong | sha256sum | cut -d' ' -f1)
python3 - a/strata.lock e-sha/strata.lock "$wrong" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
for p in lock["packages"]:
    if p["name"] == "base-thing": p["sha256"] = "sha256:" + sys.argv[3]
open(sys.argv[2], "w").write(json.dumps(lock, indent=2, sort_keys=True) + "\n")
PY
expect_fail "a .deb whose sha256 is not the lock's is refused" 1 "digest mismatch" \
  "$STRATA" build e-sha/strata.yaml -o e-sha/out --cache "$WORK/cache-sha"
grep -Fq "base-thing" err.txt || fail "the sha256 error does not name the package"
[[ ! -e e-sha/out && ! -e "$WORK/cache-sha/sources/sha256/$wrong" ]] || fail "sha256 mismatch: something was stored"
[[ -z $(find "$WORK/cache-sha/sources" -name '*tmp*' 2>/dev/null) ]] || fail "sha256 mismatch: a temporary was left"
python3 - a/strata.lock e-sha/strata.lock <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
for p in lock["packages"]:
    if p["name"] == "base-thing": p["size"] += 1
open(sys.argv[2], "w").write(json.dumps(lock, indent=2, sort_keys=True) + "\n")
PY
expect_fail "a .deb whose size is not the lock's is refused" 1 "but strata.lock says" \
  "$STRATA" build e-sha/strata.yaml -o e-sha/out --cache "$WORK/cache-sha"
[[ ! -e e-sha/out ]] || fail "size mismatch: output written"

# Hostile .debs: locked (the lock reads no .deb), refused when the build reads them.
for evil in traversal:"path escapes the root" symlink:"symlink to '../../../../etc/shadow' escapes the root" \
  device:"a device node, fifo or socket"; do
  name=evil-${evil%%:*}
  myspec "e-$name" good "$name"
  "$STRATA" lock "e-$name/strata.yaml" --cache "$CACHE" >/dev/null 2>&1 || fail "lock $name"
  expect_fail "hostile .deb ($name) is refused" 1 "${evil#*:}" \
    "$STRATA" build "e-$name/strata.yaml" -o "e-$name/out" --cache "$CACHE"
  grep -Fq "deb '$name'" err.txt || fail "$name: the error does not name the package"
  [[ ! -e "e-$name/out" && ! -e /tmp/strata-evil ]] || fail "$name: something was written"
done
# --- a real package, run by podman (optional) --------------------------------------------
if [[ -z $real_bb ]]; then
  echo "SKIP: real package: no busybox-static .deb in /var/cache/apt/archives"
else
  myspec bb good busybox-static
  printf '  config:\n    entrypoint: [/bin/busybox, echo, hello from a deb]\n' >>bb/strata.yaml
  "$STRATA" lock bb/strata.yaml --cache "$CACHE" >/dev/null 2>&1 || fail "lock busybox-static"
  "$STRATA" build bb/strata.yaml -o bbout --archive --cache "$CACHE" >/dev/null 2>bb.err || { cat bb.err; fail "build busybox-static"; }
  python3 - bbout/debs.spdx.json <<'PY' || fail "busybox-static's purl"
import json, sys
purls = [r["referenceLocator"] for p in json.load(open(sys.argv[1]))["packages"] for r in p.get("externalRefs", [])]
assert any(p.startswith("pkg:deb/debian/busybox-static@1%3A") for p in purls), purls
PY
  pass "a real .deb (busybox-static, with an epoch) locks and builds"
  rc=0
  client_podman_setup "$WORK/podman" || rc=$?
  if [[ $rc -eq 77 ]]; then
    echo "SKIP: podman run: podman cannot be used here"
  else
    trap 'client_podman_cleanup; kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT
    image=$(client_podman_load bbout/debs.tar) || fail "podman load"
    rc=0
    out=$(client_podman_run "$image") || rc=$?
    if [[ $rc -eq 77 ]]; then
      echo "SKIP: podman run: containers cannot run here"
    else
      expect_eq "podman runs the image made of a .deb" "hello from a deb" "$out"
    fi
  fi
fi
echo "debian: all checks passed"
