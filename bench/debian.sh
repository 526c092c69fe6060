#!/usr/bin/env bash
# Debian packages benchmark (issue 15): the real Debian 12 .debs that
# tests/tools/fetch_test_debs.sh downloads (the Essential set, build-essential, autotools,
# ca-certificates, openssl and their closure) served as a signed repository on 127.0.0.1, and
# a spec whose one `debs:` layer names the Essential set and the tools on top, so the locked
# closure is every one of them (~130 packages). Timed, each with an empty cache:
#   strata lock            resolve and verify into strata.lock
#   strata build (cold)    the locked .debs into an image (download, verify, unpack, layer)
#   lock + build           both, as a user starting from a spec does
#   no-change rebuild      the same build again, the cache full
#   rootfs: debs build     a `rootfs: debs` environment of the same names, assembled as a
#                          build tree, and one trivial step run in it
# beside the exact locked list installed by mmdebstrap (--variant=custom, to a tar) and by
# debootstrap --variant=minbase when it can work against this repository. Those two run the
# packages' maintainer scripts; strata does not (docs/debian-packages.md). Prints wall time,
# peak RSS and the ratio to mmdebstrap, best of $RUNS; checks that the image's SBOM lists
# every locked package.
#   bench/debian.sh                 (STRATA=path/to/strata, RUNS=3, STRATA_TEST_DEBS=DIR)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
strata="${STRATA:-$here/../build/builder/strata}"
runs="${RUNS:-3}"
debs="${STRATA_TEST_DEBS:-/var/cache/strata-tests/debs}"
if [[ ! -f $debs/.complete ]]; then
  echo "no real Debian packages in $debs: run tests/tools/fetch_test_debs.sh (.ci/install-deps does)" >&2
  exit 1
fi
for tool in apt-ftparchive gpg gpgv xz python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (.ci/install-deps)" >&2; exit 1; }
done
ARCH=$(dpkg --print-architecture)
[[ $ARCH == amd64 ]] || { echo "the test packages are amd64 ones, this is $ARCH" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")"
# apt (in mmdebstrap) reads the keyring and the lists as the _apt user
chmod 755 "$work"
export WORK=$work  # tests/e2e/lib/debian_repo.sh works in $WORK
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "$*" >&2; exit 1; }
# shellcheck source=../tests/e2e/lib/debian_repo.sh
source "$here/../tests/e2e/lib/debian_repo.sh"

timed() {  # timed LABEL CMD...: one run's "seconds KiB" appended to $work/LABEL.runs
  local label=$1
  shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$label.out" 2>"$work/$label.err" ||
    { tail -n 30 "$work/$label.err" >&2; echo "$label failed" >&2; return 1; }
  cat "$work/time" >>"$work/$label.runs"
}
best() { sort -n "$work/$1.runs" | head -n 1; }

echo "making a signed repository of $(find "$debs" -name '*.deb' | wc -l) .debs ..." >&2
export GNUPGHOME="$work/gnupg"
debrepo_keys
POOL=$debs debrepo_make "$work/www/debian"
# debootstrap asks for dists/SUITE by the codename too
ln -s stable "$work/www/debian/dists/bookworm"

# The layer: every Essential package of the repository and the tools on top.
packages_index="$work/www/debian/dists/stable/main/binary-$ARCH/Packages"
mapfile -t essential < <(python3 - "$packages_index" <<'PY'
import sys
for stanza in open(sys.argv[1]).read().split("\n\n"):
    fields = dict(l.split(": ", 1) for l in stanza.splitlines() if ": " in l and not l.startswith(" "))
    if fields.get("Essential") == "yes":
        print(fields["Package"])
PY
)
roots=("${essential[@]}" ca-certificates openssl perl make build-essential autoconf automake libtool)
roots_yaml=$(printf '%s, ' "${roots[@]}")
roots_yaml="[${roots_yaml%, }]"

spec="$work/spec"
mkdir -p "$spec" "$spec/env"
write_spec() {  # write_spec FILE NAME BODY...
  local file=$1 name=$2
  shift 2
  {
    printf 'apiVersion: strata/v1\nname: %s\nversion: "1.0"\nepoch: 1700000000\n' "$name"
    printf 'debian:\n  repositories:\n    - url: %s/debian\n      suite: stable\n      keyring: %s\n' \
      "$DEBREPO_BASE" "$work/keyring.gpg"
    printf '%s\n' "$@"
  } >"$file"
}

# check_sbom: the image's SBOM lists every package of the lock; prints the count.
check_sbom() {
  python3 - "$spec/strata.lock" "$work/out/debbench.spdx.json" <<'PY'
import json, sys
lock = {(p["name"], p["version"]) for p in json.load(open(sys.argv[1]))["packages"]}
sbom = {(p["name"], p.get("versionInfo")) for p in json.load(open(sys.argv[2]))["packages"]}
missing = lock - sbom
assert not missing, f"the SBOM lacks {sorted(missing)[:5]}"
print(len(lock))
PY
}

mm=no
command -v mmdebstrap >/dev/null && mm=yes
db=no
command -v debootstrap >/dev/null && db=yes
db_why=""
for run in $(seq "$runs"); do
  echo "run $run of $runs ..." >&2
  rm -f "$work/debrepo_port"
  debrepo_serve "$work/www"
  server_pid=$DEBREPO_PID
  write_spec "$spec/strata.yaml" debbench 'image:' '  layers:' "    - debs: $roots_yaml"
  cache="$work/cache"
  build=("$strata" build "$spec/strata.yaml" -o "$work/out" --cache "$cache" --json)

  rm -rf "$cache" "$work/out" "$spec/strata.lock"
  timed "strata lock" "$strata" lock "$spec/strata.yaml" --cache "$cache"
  timed "strata build (cold)" "${build[@]}"
  count=$(check_sbom) || fail "the image's SBOM does not list the locked packages"
  timed "strata no-change rebuild" "${build[@]}"
  python3 - "$work/strata no-change rebuild.out" "$work/strata build (cold).out" <<'PY' ||
import json, sys
again, cold = (json.load(open(f)) for f in sys.argv[1:])
assert {l["origin"] for l in again["layers"]} == {"local-cache"}, again["layers"]
assert again["manifest_digest"] == cold["manifest_digest"]
PY
    fail "the no-change rebuild compressed a layer again or made another image"
  rm -rf "$cache" "$work/out" "$spec/strata.lock"
  timed "strata lock + build" bash -c '"$1" lock "$2" --cache "$3" && shift 3 && "$@"' _ \
    "$strata" "$spec/strata.yaml" "$cache" "${build[@]}"
  [[ $(check_sbom) == "$count" ]] || fail "lock + build gave another package set"
  mapfile -t locked < <(python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(open(sys.argv[1]))["packages"]))' "$spec/strata.lock")

  # rootfs: debs: the same names as a build environment, one step run in the tree
  write_spec "$spec/env/strata.yaml" debenv 'environment:' '  rootfs: debs' "  debs: $roots_yaml" \
    'packages:' '  - name: hello' '    steps: ['"'"'printf hi > "$DESTDIR/hi"'"'"']' \
    'image:' '  layers:' '    - packages: [hello]'
  rm -rf "$work/cache-env" "$work/out-env"
  "$strata" lock "$spec/env/strata.yaml" --cache "$work/cache-env" >/dev/null 2>"$work/envlock.err" ||
    { cat "$work/envlock.err" >&2; fail "strata lock of the rootfs: debs spec"; }
  timed "strata rootfs: debs build" "$strata" build "$spec/env/strata.yaml" -o "$work/out-env" --cache "$work/cache-env"

  if [[ $mm == yes ]]; then
    rm -f "$work/mm.tar"
    timed "mmdebstrap" mmdebstrap --mode=root --variant=custom --architectures="$ARCH" \
      --include="$(IFS=,; echo "${locked[*]}")" bookworm "$work/mm.tar" \
      "deb [signed-by=$work/keyring.gpg] $DEBREPO_BASE/debian stable main" ||
      fail "mmdebstrap failed (above)"
    rm -f "$work/mm.tar"
  fi
  if [[ $db == yes ]]; then
    rm -rf "$work/db"
    # minbase is the Essential set, apt and (merged /usr) usr-is-merged; this repository has
    # neither, so they are excluded (--no-merged-usr: the packages' own usrmerge is in the list)
    # and the locked list included instead.
    if timed "debootstrap" debootstrap --variant=minbase --no-merged-usr --arch="$ARCH" \
      --keyring="$work/keyring.gpg" --exclude=apt,usr-is-merged --include="$(IFS=,; echo "${locked[*]}")" \
      bookworm "$work/db" "$DEBREPO_BASE/debian"; then
      :
    else
      db=no
      db_why=$(cat "$work/debootstrap.out" "$work/debootstrap.err" | grep -m1 -E '^E:' || tail -n 1 "$work/debootstrap.out")
    fi
    rm -rf "$work/db"
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done

ref=""
[[ $mm == yes ]] && read -r ref _ <<<"$(best mmdebstrap)"
ratio() { [[ -n $ref ]] && awk "BEGIN{printf \"%.2fx\", $1 / ($ref > 0 ? $ref : 0.01)}" || echo -; }
printf '\n%-32s %9s %10s  %s\n' "command" "wall (s)" "peak RSS" "vs mmdebstrap"
rows=("strata lock" "strata build (cold)" "strata lock + build" "strata no-change rebuild" "strata rootfs: debs build")
[[ $mm == yes ]] && rows+=(mmdebstrap)
[[ $db == yes ]] && rows+=(debootstrap)
for op in "${rows[@]}"; do
  read -r t m <<<"$(best "$op")"
  printf '%-32s %9s %6d MiB  %s\n' "$op" "$t" "$((m / 1024))" "$(ratio "$t")"
done
echo
echo "best of $runs runs; $count packages locked (${#roots[@]} named: the ${#essential[@]} Essential ones and $((${#roots[@]} - ${#essential[@]})) more), all in the image's SBOM; a signed repository on 127.0.0.1 (python3 http.server)"
echo "each with an empty cache but the no-change rebuild; the rootfs: debs build assembles the same names as a build tree and runs one step"
[[ $mm == yes ]] && echo "mmdebstrap: --mode=root --variant=custom --include=<the $count locked names>, to a tar; it runs the maintainer scripts, strata does not"
[[ $mm == no ]] && echo "mmdebstrap is not installed (.ci/install-deps): no ratio"
[[ $db == yes ]] && echo "debootstrap: --variant=minbase --no-merged-usr --exclude=apt,usr-is-merged --include=<the locked names>, to a directory; it runs the maintainer scripts"
if [[ $db == no ]]; then
  if [[ -n $db_why ]]; then echo "debootstrap did not work against this repository: $db_why"; else echo "debootstrap is not installed (.ci/install-deps)"; fi
fi
