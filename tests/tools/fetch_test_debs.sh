#!/usr/bin/env bash
# Downloads the real Debian packages that the Debian build-environment and `run:` layer tests
# use (tests/e2e/lib/debian_repo.sh serves them as a signed repository on 127.0.0.1): the
# Essential set, build-essential, autoconf, automake and libtool, ca-certificates and openssl, with their
# dependency closure resolved by apt against an empty dpkg status. Called by .ci/install-deps;
# safe to run again (a stamp names the package list). DIR defaults to
# /var/cache/strata-tests/debs. Exits non-zero on failure; the tests then skip with a reason.
set -euo pipefail

dir=${1:-${STRATA_TEST_DEBS:-/var/cache/strata-tests/debs}}
# Debian 12's Essential: yes packages, fixed here rather than read from this host.
essential=(base-files base-passwd bash bsdutils coreutils dash debianutils diffutils dpkg
  findutils grep gzip hostname init-system-helpers libc-bin login ncurses-base ncurses-bin
  perl-base sed sysvinit-utils tar util-linux)
wanted=(build-essential autoconf automake libtool ca-certificates openssl)
stamp_text="${essential[*]} ${wanted[*]}"

if [[ -f $dir/.complete && $(cat "$dir/.complete") == "$stamp_text" ]]; then exit 0; fi
mkdir -p "$dir"
rm -f "$dir/.complete"
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT
# Inst NAME [OLD] (VERSION REPO [ARCH]) — one line per package of the closure.
mapfile -t pins < <(apt-get -s -qq -o Dir::State::status="$empty" -o APT::Install-Recommends=false \
  install "${essential[@]}" "${wanted[@]}" | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p')
((${#pins[@]} > 50)) || { echo "fetch_test_debs: apt resolved only ${#pins[@]} packages" >&2; exit 1; }
(cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "${pins[@]}" >/dev/null)
# apt names a file NAME_EPOCH%3aVERSION_ARCH.deb; Debian's pool, which the tests mimic, leaves the
# epoch out of file names.
for f in "$dir"/*%3a*.deb; do
  [[ -e $f ]] || continue
  base=${f##*/}
  mv "$f" "$dir/${base%%_*}_${base#*%3a}"
done
count=$(find "$dir" -maxdepth 1 -name '*.deb' | wc -l)
((count >= ${#pins[@]})) || { echo "fetch_test_debs: $count of ${#pins[@]} .debs downloaded" >&2; exit 1; }
printf '%s' "$stamp_text" >"$dir/.complete"
