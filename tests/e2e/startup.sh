#!/usr/bin/env bash
# Lean start-up (docs/startup.md): the strata binary links neither libcurl nor libxml2 and
# ICU (libarchive's xar reader and writer), so the commands that never touch the network
# do not load them; a command that fetches loads libcurl on first use and works.
source "$(dirname "$0")/lib/e2e.sh"

linked=$(ldd "$STRATA")
for lib in libcurl libxml2 libicu; do
  [[ $linked != *"$lib"* ]] || fail "ldd strata lists $lib: $linked"
done

# LD_DEBUG=files names every object the loader maps, dlopen's included.
loaded() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -o 'file=[^ ;]*' | sort -u; }
for cmd in "--version" "validate $SOURCE_DIR/examples/hello/strata.yaml"; do
  # shellcheck disable=SC2086 # the command's words
  objects=$(loaded "$STRATA" $cmd)
  [[ $objects != *libcurl* ]] || fail "strata $cmd loads libcurl: $objects"
done

# A url source (file://, through libcurl like http and https): `strata pin` fetches it.
printf 'upstream\n' >"$WORK/upstream.txt"
cat >"$WORK/strata.yaml" <<YAML
apiVersion: strata/v1
name: fetch
sources:
  - name: up
    url: file://$WORK/upstream.txt
image:
  layers:
    - files: [{src: strata.yaml, dest: /spec.yaml}]
YAML
objects=$(loaded "$STRATA" pin --cache "$WORK/cache" "$WORK/strata.yaml") ||
  fail "strata pin of a url source failed"
[[ $objects == *libcurl* ]] || fail "strata pin did not load libcurl: $objects"
want=$(sha256sum "$WORK/upstream.txt" | cut -d' ' -f1)
grep -q "$want" "$WORK/strata.yaml" || fail "strata pin did not write the fetched digest"
pass "start-up: no libcurl, libxml2 or ICU linked; libcurl loaded only to fetch"
