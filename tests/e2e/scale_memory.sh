#!/usr/bin/env bash
# A layer of 30,000 files (issue 16 part 5): the SBOM and the provenance list every one,
# as canonical JSON, and the build's peak RSS stays under 64 MiB with them (docs/sbom.md
# "Memory": the documents are streamed into their files, never held). Not a timing test.
source "$(dirname "$0")/lib/e2e.sh"

[[ -x /usr/bin/time ]] || skip "/usr/bin/time is not installed (GNU time, for the peak RSS)"
python3 "$SOURCE_DIR/bench/make_tree.py" "$WORK/tree" 30000 30
cat >"$WORK/strata.yaml" <<'YAML'
apiVersion: strata/v1
name: many
epoch: 1700000000
image:
  layers:
    - files: [{src: tree, dest: /data}]
YAML
files=$(find "$WORK/tree" -type f | wc -l)
inodes=$(find "$WORK/tree" -type f -printf '%i\n' | sort -u | wc -l)

# check_docs FORMAT SBOM: every document canonical, every file listed.
check_docs() {
  python3 - "$1" "$2" "$WORK/out/many.provenance.json" "$files" "$inodes" <<'PY' || fail "$1 SBOM and provenance list every file"
import json, sys
fmt, sbom_path, prov_path, files, inodes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def canonical(path):
    raw = open(path, "rb").read()
    doc = json.loads(raw)
    again = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert again == raw, f"{path} is not canonical JSON"
    return doc
sbom, prov = canonical(sbom_path), canonical(prov_path)
if fmt == "spdx":
    listed = len(sbom["files"])
    contains = sum(r["relationshipType"] == "CONTAINS" and r["relatedSpdxElement"].startswith("SPDXRef-File-")
                   for r in sbom["relationships"])
    assert contains == files, (contains, files)
else:
    listed = sum(len(c.get("components", [])) for c in sbom["components"])
assert listed == files, (listed, files)
deps = prov["predicate"]["buildDefinition"]["resolvedDependencies"]
inputs = [d for d in deps if d["annotations"]["role"] == "input-file"]
assert len(inputs) == inodes, (len(inputs), inodes)
assert [d["name"] for d in inputs] == sorted(d["name"] for d in inputs)
PY
  pass "$1: $files files in the SBOM, $inodes input files in the provenance, canonical"
}

sanitized=""
ldd "$STRATA" 2>/dev/null | grep -q -e libasan -e libtsan && sanitized=1
for format in spdx cyclonedx; do
  ext=$([[ $format == spdx ]] && echo spdx || echo cdx)
  rm -rf "$WORK/out"
  /usr/bin/time -f '%M' -o "$WORK/rss" "$STRATA" build "$WORK/strata.yaml" -o "$WORK/out" \
    --cache "$WORK/cache-$format" --compression none --sbom-format "$format" \
    >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; fail "$format: build"; }
  check_docs "$format" "$WORK/out/many.$ext.json"
  rss_kib=$(cat "$WORK/rss")
  if [[ -n $sanitized ]]; then
    echo "note: $STRATA is a sanitizer build; peak RSS ($((rss_kib / 1024)) MiB) not checked"
  elif ((rss_kib < 64 * 1024)); then
    pass "$format: peak RSS $((rss_kib / 1024)) MiB < 64 MiB"
  else
    fail "$format: peak RSS $((rss_kib / 1024)) MiB, over 64 MiB"
  fi
done
