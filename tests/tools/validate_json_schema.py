#!/usr/bin/env python3
"""Validate JSON documents against a JSON schema, offline.

Usage: validate_json_schema.py [--schema-dir DIR] SCHEMA DOC...

SCHEMA is a path to a schema file, or a bare file name looked up in the schema directory
(--schema-dir, else $STRATA_SCHEMA_DIR, else the vendored <repo>/tests/schemas), e.g. `spdx-schema.json`,
`bom-1.6.schema.json`, `openvex_json_schema.json`. Remote `$ref`s (http/https) resolve to the file
with the same last path segment in the schema's own directory (or the schema directory), so
CycloneDX's spdx.schema.json / jsf-0.82.schema.json and the OCI defs*.json resolve offline.
The draft comes from the schema's `$schema` (draft-04 if none). `format: date-time` is checked
with our own RFC 3339 checker (Debian's jsonschema 4.10.3 has none); other formats are checked
only where the installed jsonschema can.

Prints "OK: DOC" or "FAIL: DOC: <json path>: <message>" lines. Exit 0 all valid, 1 invalid or
unreadable document, 2 usage / unreadable schema, or a bare SCHEMA name found in no schema
directory (the vendored copies ship with the repo, so a missing one is a bug, not the machine's).
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean (no __pycache__ next to the tools)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema_util  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("schema")
    ap.add_argument("docs", nargs="+")
    ap.add_argument("--schema-dir")
    a = ap.parse_args()

    if os.path.isfile(a.schema):
        sdir = os.path.dirname(os.path.abspath(a.schema))
        schema_ref = os.path.abspath(a.schema)
    else:
        cands = [d for d in (a.schema_dir, os.environ.get("STRATA_SCHEMA_DIR"), schema_util.VENDORED_SCHEMA_DIR) if d]
        sdir = next((d for d in cands if os.path.isfile(os.path.join(d, a.schema))), None)
        if sdir is None:
            print(f"ERROR: schema {a.schema!r} not found in: {', '.join(cands)}")
            return 2
        schema_ref = os.path.join(sdir, a.schema)
    try:
        validator = schema_util.SchemaDir(sdir).validator(schema_ref)
    except Exception as e:  # noqa: BLE001
        print(f"ERROR: cannot load schema {schema_ref}: {type(e).__name__}: {e}")
        return 2

    bad = 0
    for doc_path in a.docs:
        try:
            with open(doc_path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"FAIL: {doc_path}: cannot read JSON: {e}")
            bad += 1
            continue
        errs = schema_util.errors_of(validator, doc)
        if errs:
            bad += 1
            for e in errs:
                print(f"FAIL: {doc_path}: {e}")
        else:
            print(f"OK: {doc_path} ({os.path.basename(schema_ref)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
