#!/usr/bin/env bash
# Supply-chain policies (docs/policy.md): one policy per rule, each over a passing and a
# failing image, asserting the evidence printed; a signed VEX suppresses a listed CVE, the
# same VEX unsigned does not; a bad policy is exit 2 with file:line:col; `strata build
# --policy` stops before fetching (a 127.0.0.1 server's request log stays empty), naming
# the rule and the spec line; `strata verify --policy --vsa` records the policy's digest; a
# docker:// image is judged by its referrers (Debian's docker-registry on 127.0.0.1).
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/registry.sh"

VALIDATE="$SOURCE_DIR/tests/tools/validate_json_schema.py"
command -v openssl >/dev/null || skip "openssl is not installed (signs the VEX fixtures)"
cd "$WORK"
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/xdg-cache"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME"
"$STRATA" keygen --type ed25519 -o ed >/dev/null 2>&1
"$STRATA" keygen --type ed25519 -o other >/dev/null 2>&1

# check NAME IMAGE POLICY [ARGS...]: strata policy check, stdout in NAME.out, exit in $rc.
check() {
  local name=$1 image=$2 policy=$3
  shift 3
  rc=0
  "$STRATA" policy check "$image" --policy "$policy" "$@" >"$name.out" 2>"$name.err" || rc=$?
}
expect_in() {  # expect_in WHAT FILE TEXT
  grep -qF -- "$3" "$2" || { cat "$2" >&2; fail "$1: '$3' not in $2"; }
  pass "$1"
}
# rule NAME RULE-YAML: writes NAME.yaml with that one rule.
rule() {
  printf 'apiVersion: strata.dev/policy/v1\nrules:\n  %s\n' "$2" >"$1.yaml"
}
# expect_rule WHAT IMAGE POLICY RC TEXT [ARGS...]: the check exits RC and prints TEXT.
expect_rule() {
  local what=$1 image=$2 policy=$3 want=$4 text=$5
  shift 5
  check run "$image" "$policy" "$@"
  [[ $rc -eq $want ]] || { cat run.out run.err >&2; fail "$what: exit $rc, expected $want"; }
  expect_in "$what" run.out "$text"
}

# ------------------------------------------------------------------ two tiny images
# An environment image for `rootfs: image` (the specs build no package, so it never runs).
python3 "$SOURCE_DIR/tests/e2e/lib/make_test_layout.py" env --no-docker-manifest >/dev/null
env_digest=$(python3 -c 'import json,sys; print(json.load(open("env/index.json"))["manifests"][0]["digest"])')
head -c 65536 /dev/urandom >big.bin
cat >good.yaml <<EOF
apiVersion: strata/v1
name: good
version: "1"
epoch: 1700000000
environment: {rootfs: image, image: ./env@$env_digest}
image:
  paths:
    - {path: /etc/hostname, type: file, content: "good\n"}
  config:
    user: "65532:65532"
EOF
cat >bad.yaml <<EOF
apiVersion: strata/v1
name: bad
version: "1"
epoch: 1700000000
image:
  layers:
    - files:
        - {src: big.bin, dest: /var/big.bin}
  paths:
    - {path: /bin/su, type: file, content: "#!/bin/sh\n", mode: "4755"}
    - {path: /usr/bin/wall, type: file, content: "#!/bin/sh\n", mode: "2755"}
EOF
"$STRATA" build good.yaml -o out --sign-key ed.key 2>>build.log >good.digest || { cat build.log; fail "build good"; }
"$STRATA" build bad.yaml -o out --sign-key other.key 2>>build.log >bad.digest || { cat build.log; fail "build bad"; }
good=$(tail -n 1 good.digest)
bad=$(tail -n 1 bad.digest)
pass "built a passing and a failing image"

# ------------------------------------------------------------------ one policy per rule
rule user 'nonRootUser: true'
expect_rule "nonRootUser passes: user 65532" out/good user.yaml 0 "ok   nonRootUser: user is '65532:65532' (config.User)"
expect_rule "nonRootUser fails: no user is root" out/bad user.yaml 1 "FAIL nonRootUser: user is unset (config.User is empty: the container runs as root)"
expect_in "the summary names the failed rule" run.out "policy user.yaml failed: nonRootUser"

rule setuid 'noSetuidFiles: true'
expect_rule "noSetuidFiles passes" out/good setuid.yaml 0 "ok   noSetuidFiles: no setuid or setgid file in 1 layer"
expect_rule "noSetuidFiles fails on the setuid file" out/bad setuid.yaml 1 "FAIL noSetuidFiles: /bin/su is setuid (mode 4755, layer"
expect_in "noSetuidFiles lists the setgid file too" run.out "/usr/bin/wall is setgid (mode 2755, layer"

rule size 'maxImageSize: 16KiB'
expect_rule "maxImageSize passes" out/good size.yaml 0 "is at most 16KiB (16384 bytes)"
expect_rule "maxImageSize fails on 64 KiB of noise" out/bad size.yaml 1 "is more than maxImageSize 16KiB (16384 bytes)"

rule signed 'signedBy: {keys: [ed.pub]}'
expect_rule "signedBy passes: signed by ed.pub" out/good signed.yaml 0 "ok   signedBy: the provenance is signed by ed25519 key"
expect_rule "signedBy fails: signed by another key" out/bad signed.yaml 1 "FAIL signedBy: the provenance is not signed by ed25519 key"
rule signed-any 'signedBy: {require: any}'
expect_rule "signedBy any of --key ed.pub --key other.pub" out/bad signed-any.yaml 0 "(other.pub)" --key ed.pub --key other.pub

rule builder 'builder: {id: https://strata.dev/builder/local/v1, minVersion: 0.1.0}'
expect_rule "builder passes" out/good builder.yaml 0 "ok   builder: builder https://strata.dev/builder/local/v1, strata" --key ed.pub
rule builder-new 'builder: {minVersion: 99.0.0}'
expect_rule "builder fails: too old" out/good builder-new.yaml 1 "is older than minVersion 99.0.0" --key ed.pub

rule env 'pinnedEnvironment: true'
expect_rule "pinnedEnvironment passes: rootfs image" out/good env.yaml 0 "ok   pinnedEnvironment: environment image ./env@$env_digest" --key ed.pub
expect_rule "pinnedEnvironment fails: rootfs host" out/bad env.yaml 1 "FAIL pinnedEnvironment: no environment-image in the provenance: the build environment was the host's root filesystem (rootfs: host)" --key other.pub

# A layer blob changed on disk is not read as the image's layer.
mkdir tampered && cp -r out/bad tampered/bad
blob=$(ls -S tampered/bad/blobs/sha256/* | head -n 1)
chmod u+w "$blob"
printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
check tamper tampered/bad setuid.yaml
expect_eq "a tampered layer: exit 1" 1 "$rc"
expect_in "a tampered layer: digest mismatch named" tamper.err "digest mismatch: expected sha256:"

# An archive of the layout: its attestations are the files beside it, without ".tar".
"$STRATA" build good.yaml -o arch --archive --sign-key ed.key 2>>build.log >/dev/null || { cat build.log; fail "build --archive"; }
expect_rule "an archive is judged with the files beside it" arch/good.tar signed.yaml 0 "ok   signedBy: the provenance is signed by ed25519 key"

rule repro 'reproduced: true'
expect_rule "reproduced is not decidable by policy check" out/good repro.yaml 1 "FAIL reproduced: not decidable without a rebuild: only strata verify --policy checks it"

# The provenance's envelope signed by no trusted key: its claims are not read; the evidence
# says the unsigned statement beside it was used instead, and without it there is none.
expect_rule "an untrusted envelope: the unsigned statement is named as such" out/bad env.yaml 1 "(unsigned provenance out/bad.provenance.json)" --key ed.pub
mv out/bad.provenance.json bad.provenance.json.saved
expect_rule "an untrusted envelope alone is not evidence" out/bad env.yaml 1 "out/bad.provenance.dsse.json: signed by none of the 1 trusted key" --key ed.pub
mv bad.provenance.json.saved out/bad.provenance.json

# ------------------------------------------------------------------ JSON output and schema
rule two "nonRootUser: true
  maxImageSize: 16KiB"
check json out/bad two.yaml --json
expect_eq "--json: exit 1 on a failing rule" 1 "$rc"
out=$(python3 "$VALIDATE" strata-policy-report.schema.json json.out 2>&1) || fail "policy report schema: $out"
pass "--json validates against tests/schemas/strata-policy-report.schema.json"
python3 - json.out "$bad" <<'PY' && pass "--json: image, rules in order, evidence" || fail "--json: image, rules in order, evidence"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["image"]["manifest"] == sys.argv[2] and r["passed"] is False, r
assert [x["rule"] for x in r["rules"]] == ["nonRootUser", "maxImageSize"], r
assert r["rules"][0]["evidence"].startswith("user is unset"), r
PY

# ------------------------------------------------------------------ bad policy files: exit 2
printf 'apiVersion: strata.dev/policy/v1\nrules:\n  nonRootUsr: true\n' >typo.yaml
check typo out/good typo.yaml
expect_eq "unknown rule: exit 2" 2 "$rc"
expect_in "unknown rule: located, with a suggestion" typo.err "typo.yaml:3:3: error: unknown rule 'nonRootUsr'; did you mean 'nonRootUser'?"
printf 'apiVersion: strata.dev/policy/v1\nrules:\n  maxImageSize: [1]\n' >type.yaml
check type out/good type.yaml
expect_eq "wrong type: exit 2" 2 "$rc"
expect_in "wrong type: located" type.err "type.yaml:3:17: error: maxImageSize: expected a string, got a sequence"

# ------------------------------------------------------------------ VEX: signed counts, unsigned not
# The OpenVEX interface of docs/vex.md: out/NAME.openvex.json, and its DSSE envelope (an in-toto
# Statement, predicateType https://openvex.dev/ns/v0.2.0) as out/NAME.openvex.dsse.json.
make_vex() {  # make_vex NAME DIGEST KEY: writes out/NAME.openvex.json and .openvex.dsse.json
  python3 - "$1" "$2" <<'PY'
import json, sys
name, digest = sys.argv[1], sys.argv[2]
doc = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://strata.dev/vex/test",
       "author": "e2e", "timestamp": "2023-11-14T22:13:20Z", "version": 1,
       "statements": [{"vulnerability": {"name": "CVE-2024-0001"},
                       "products": [{"@id": f"pkg:oci/{name}@sha256%3A{digest[7:]}?arch=amd64"}],
                       "status": "not_affected", "justification": "vulnerable_code_not_present"}]}
statement = {"_type": "https://in-toto.io/Statement/v1",
             "subject": [{"name": name, "digest": {"sha256": digest[7:]}}],
             "predicateType": "https://openvex.dev/ns/v0.2.0", "predicate": doc}
open(f"out/{name}.openvex.json", "w").write(json.dumps(doc, sort_keys=True, separators=(",", ":")))
open(f"{name}.statement", "wb").write(json.dumps(statement, sort_keys=True, separators=(",", ":")).encode())
PY
  local body len
  len=$(stat -c %s "$1.statement")
  { printf 'DSSEv1 28 application/vnd.in-toto+json %s ' "$len"; cat "$1.statement"; } >"$1.pae"
  openssl pkeyutl -sign -rawin -inkey "$3" -in "$1.pae" -out "$1.sig"
  python3 - "$1" <<'PY'
import base64, json, sys
name = sys.argv[1]
env = {"payload": base64.b64encode(open(f"{name}.statement", "rb").read()).decode(),
       "payloadType": "application/vnd.in-toto+json",
       "signatures": [{"keyid": "", "sig": base64.b64encode(open(f"{name}.sig", "rb").read()).decode()}]}
open(f"out/{name}.openvex.dsse.json", "w").write(json.dumps(env))
PY
}
make_vex good "$good" ed.key
printf 'apiVersion: strata.dev/policy/v1\nrules:\n  knownVulnerabilities:\n    ids: [CVE-2024-0001]\n    keys: [ed.pub]\n' >vex.yaml
expect_rule "a signed VEX marks the CVE not_affected: passes" out/good vex.yaml 0 "CVE-2024-0001: not_affected in out/good.openvex.dsse.json (signed by ed25519 key"
mv out/good.openvex.dsse.json good.openvex.dsse.json.saved
expect_rule "the same VEX unsigned: fails" out/good vex.yaml 1 "FAIL knownVulnerabilities: CVE-2024-0001: not_affected only in out/good.openvex.json (unsigned): an unsigned or untrusted VEX does not count"
mv good.openvex.dsse.json.saved out/good.openvex.dsse.json
printf 'apiVersion: strata.dev/policy/v1\nrules:\n  knownVulnerabilities: {ids: [CVE-2024-0001]}\n' >vex-cli.yaml
expect_rule "a VEX signed by a key that is not trusted: fails" out/good vex-cli.yaml 1 "its signature verifies with no trusted key" --key other.pub
expect_rule "a listed CVE no VEX mentions: fails" out/bad vex.yaml 1 "FAIL knownVulnerabilities: CVE-2024-0001: no statement about this image in a signed VEX"

# ------------------------------------------------------------------ sources and licences
# A source from 127.0.0.1 (the test's server) and one package per licence, built in the sandbox.
mkdir srv
printf 'hello\n' >srv/greeting.txt
tar -C srv -czf srv/greeting.tar.gz greeting.txt
src_sha=$(sha256sum srv/greeting.tar.gz | cut -d' ' -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory srv >server.log 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/greeting.txt" -o /dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/greeting.txt" -o /dev/null || fail "the test's HTTP server did not start"
: >server.log

# build --policy: a source host the policy does not allow stops the build before any fetch.
cat >fetching.yaml <<EOF
apiVersion: strata/v1
name: fetching
sources:
  - name: greeting
    url: http://127.0.0.1:$port/greeting.tar.gz
    sha256: $src_sha
packages:
  - name: greet
    license: MIT
    sources: [greeting]
    steps: ['install -D -m 0644 greeting.txt "\$DESTDIR/usr/share/greeting.txt"']
image:
  layers:
    - packages: [greet]
EOF
rule hosts 'sources: {allowedHosts: [ftp.gnu.org]}'
rc=0
"$STRATA" build fetching.yaml -o out-fetch --cache cache --policy hosts.yaml >fetch.out 2>fetch.err || rc=$?
expect_eq "build --policy: a disallowed source host is exit 2" 2 "$rc"
expect_in "build --policy names the rule, the policy line and the spec line" fetch.err \
  "fetching.yaml:4:5: error: policy rule sources (hosts.yaml:3): source 'greeting' (http://127.0.0.1:$port/greeting.tar.gz): host 127.0.0.1 is not allowed"
[[ ! -s server.log ]] && pass "build --policy fetched nothing (the server saw no request)" || { cat server.log; fail "build --policy fetched nothing"; }
[[ ! -e out-fetch ]] && pass "build --policy wrote no output" || fail "build --policy wrote no output"
rule env-build 'pinnedEnvironment: true'
rc=0
"$STRATA" build fetching.yaml -o out-fetch --cache cache --policy env-build.yaml >fetch.out 2>fetch.err || rc=$?
expect_eq "build --policy: rootfs host is exit 2" 2 "$rc"
expect_in "build --policy: rootfs host names the rule" fetch.err "policy rule pinnedEnvironment (env-build.yaml:3): the build environment is the host's root filesystem"
rule lic-build 'licenses: {allow: [Apache-2.0]}'
rc=0
"$STRATA" build fetching.yaml -o out-fetch --cache cache --policy lic-build.yaml >fetch.out 2>fetch.err || rc=$?
expect_eq "build --policy: a disallowed licence is exit 2" 2 "$rc"
expect_in "build --policy: the licence names the package line" fetch.err "fetching.yaml:8:5: error: policy rule licenses (lic-build.yaml:3): package 'greet' (MIT): MIT is not allowed"
[[ ! -s server.log ]] && pass "still nothing fetched" || fail "still nothing fetched"

# ------------------------------------------------------------------ a registry image
if command -v docker-registry >/dev/null; then
  start_registry plain
  reg="127.0.0.1:$REG_PORT"
  "$STRATA" push out/good "docker://$reg/app/good" >push.out 2>push.err || { cat push.err; fail "strata push"; }
  "$STRATA" push out/bad "docker://$reg/app/bad" >>push.out 2>>push.err || { cat push.err; fail "strata push"; }
  rule remote "signedBy: {keys: [ed.pub]}
  nonRootUser: true
  pinnedEnvironment: true"
  expect_rule "docker:// image: judged by its referrers, passes" "docker://$reg/app/good@$good" remote.yaml 0 \
    "ok   signedBy: the provenance is signed by ed25519 key"
  expect_in "docker:// image: the provenance came from a referrer" run.out "(provenance docker://$reg/app/good: referrer sha256:"
  expect_rule "docker:// image: a failing image fails" "docker://$reg/app/bad@$bad" remote.yaml 1 \
    "FAIL nonRootUser: user is unset"
  expect_in "docker:// image: its signer is not trusted" run.out "FAIL signedBy: the provenance is not signed by ed25519 key"
  rc=0
  "$STRATA" verify "docker://$reg/app/good@$good" --key ed.pub --policy remote.yaml --json \
    >verify-remote.json 2>verify-remote.err || rc=$?
  [[ $rc -eq 0 ]] || cat verify-remote.err >&2
  expect_eq "verify docker:// --policy: reproduced and the policy passes (exit 0)" 0 "$rc"
  python3 - verify-remote.json <<'PY' && pass "verify --json: the policy report, from the referrers" || fail "verify --json: the policy report, from the referrers"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reproduced"] is True and r["policy"]["passed"] is True, r
assert "referrer sha256:" in r["policy"]["rules"][1]["evidence"], r["policy"]["rules"][1]
assert [x["rule"] for x in r["policy"]["rules"]] == ["signedBy", "pinnedEnvironment", "nonRootUser"], r["policy"]
PY
else
  echo "SKIP: docker:// images: docker-registry is not installed"
fi

# ------------------------------------------------------------------ verify --policy --vsa
printf 'apiVersion: strata.dev/policy/v1\nrules:\n  reproduced: true\n  nonRootUser: true\n' >verify.yaml
rc=0
"$STRATA" verify out/good --provenance out/good.provenance.dsse.json --key ed.pub --policy verify.yaml \
  --vsa vsa.json >verify.out 2>verify.err || rc=$?
expect_eq "verify --policy: reproduced, policy passes (exit 0)" 0 "$rc"
expect_in "verify --policy: the reproduced rule uses the rebuild" verify.err "ok   reproduced: reproduced $good"
expect_in "verify --policy: says the policy passed" verify.out "policy verify.yaml passed: 2 rules"
python3 - vsa.json "$(sha256sum verify.yaml | cut -d' ' -f1)" "$WORK/verify.yaml" <<'PY' && pass "VSA records the policy's URI and digest" || fail "VSA records the policy's URI and digest"
import json, sys
p = json.load(open(sys.argv[1]))["predicate"]
assert p["policy"] == {"uri": "file://" + sys.argv[3], "digest": {"sha256": sys.argv[2]}}, p["policy"]
assert p["verificationResult"] == "PASSED", p
PY
rc=0
"$STRATA" verify out/bad --provenance out/bad.provenance.dsse.json --key other.pub --policy verify.yaml \
  --vsa vsa-bad.json >verify.out 2>verify.err || rc=$?
expect_eq "verify --policy: reproduced but a rule fails (exit 1)" 1 "$rc"
expect_in "verify --policy: names the failed rule" verify.out "policy verify.yaml failed: nonRootUser"
python3 -c 'import json,sys; p=json.load(open("vsa-bad.json"))["predicate"]; assert p["verificationResult"]=="FAILED", p' \
  && pass "the VSA of a failed policy is FAILED" || fail "the VSA of a failed policy is FAILED"

probe_sandbox
if [[ -n "$SANDBOX_SKIP" ]]; then
  echo "SKIP: sources and licences over built packages, verify --policy: $SANDBOX_SKIP"
  exit 0
fi
rule hosts-ok 'sources: {allowedHosts: [127.0.0.1]}'
"$STRATA" build fetching.yaml -o out --cache cache --policy hosts-ok.yaml 2>>build.log >/dev/null || { tail build.log; fail "build --policy with an allowed host"; }
pass "build --policy builds when every rule a spec decides passes"
sed -e 's/name: fetching/name: gpl/' -e 's/license: MIT/license: GPL-3.0-only OR LGPL-2.1-only/' fetching.yaml >gpl.yaml
"$STRATA" build gpl.yaml -o out --cache cache 2>>build.log >/dev/null || { tail build.log; fail "build gpl"; }
expect_rule "sources passes: 127.0.0.1 allowed" out/fetching hosts-ok.yaml 0 "ok   sources: 1 source and registry image, all allowed"
expect_rule "sources fails: 127.0.0.1 not allowed" out/fetching hosts.yaml 1 "FAIL sources: source 'greeting' (http://127.0.0.1:$port/greeting.tar.gz): host 127.0.0.1 is not allowed"
rule lic 'licenses: {allow: [MIT, Apache-2.0], deny: [GPL-3.0-only]}'
expect_rule "licenses passes: MIT" out/fetching lic.yaml 0 "ok   licenses: 1 package in the SBOM out/fetching.spdx.json, all allowed"
expect_rule "licenses fails: no branch of the OR is allowed" out/gpl lic.yaml 1 "FAIL licenses: package 'greet' (GPL-3.0-only OR LGPL-2.1-only): no branch of the OR is allowed (GPL-3.0-only is denied; LGPL-2.1-only is not allowed)"

