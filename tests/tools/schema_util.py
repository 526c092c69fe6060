"""Shared helpers for the JSON-schema validators in tests/tools/ (offline $ref resolution,
RFC 3339 date-time checking). Works with Debian 12's python3-jsonschema 4.10.3 (RefResolver)
and with jsonschema >= 4.18 (referencing registry), whichever `python3` imports.
"""
import datetime
import json
import os
import re
import urllib.parse
import warnings

import jsonschema
from jsonschema import validators

SKIP = 77

DEBIAN_OCI_SCHEMA_DIR = "/usr/share/gocode/src/github.com/opencontainers/image-spec/schema"
_REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# The official schemas, vendored (tests/schemas/README.md: sources and licences).
VENDORED_SCHEMA_DIR = os.path.join(_REPO_ROOT, "tests", "schemas")

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def make_format_checker():
    """A FormatChecker with our own date-time check (Debian's 4.10.3 has none without
    rfc3339-validator; we register it unconditionally so every jsonschema version behaves alike)."""
    fc = jsonschema.FormatChecker()

    @fc.checks("date-time", raises=ValueError)
    def _date_time(value):
        if not isinstance(value, str):
            return True
        if not _RFC3339.match(value):
            raise ValueError(f"not an RFC 3339 date-time: {value!r}")
        v = re.sub(r"[Zz]$", "+00:00", value)
        v = re.sub(r"\.\d+", "", v)          # fromisoformat (3.10) rejects >6 fraction digits
        datetime.datetime.fromisoformat(v.replace("t", "T"))  # range checks: month 13, day 32, ...
        return True

    return fc


def _normalise_dialect(schema):
    """The Debian image-spec copies (1.1.0~rc2) say "$schema": "https://json-schema.org/draft-04/schema#"
    (https). Neither jsonschema's validator_for() nor `referencing` know that URI: the first would
    silently pick the newest draft, the second raises UnknownDialect. Map it to the real draft-04 id."""
    if isinstance(schema, dict) and isinstance(schema.get("$schema"), str):
        m = re.match(r"^https?://json-schema\.org/(draft-0[3467])/schema#?$", schema["$schema"])
        if m:
            schema = dict(schema, **{"$schema": f"http://json-schema.org/{m.group(1)}/schema#"})
    return schema


def _supports_registry():
    try:
        import referencing  # noqa: F401
        from importlib.metadata import version
        major, minor = (int(x) for x in version("jsonschema").split(".")[:2])
        return (major, minor) >= (4, 18)
    except Exception:
        return False


class SchemaDir:
    """A folder of schema files; any http(s) URI resolves to the file named by its last path
    segment (rule from tests/schemas/README.md), so remote $ids never hit the network."""

    def __init__(self, directory, draft4_default=False):
        self.dir = directory
        self.draft4_default = draft4_default
        self.format_checker = make_format_checker()

    def load(self, uri_or_name):
        name = os.path.basename(urllib.parse.urlsplit(uri_or_name).path)
        path = os.path.join(self.dir, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"schema {uri_or_name!r} -> {path}: no such file")
        with open(path, encoding="utf-8") as f:
            return _normalise_dialect(json.load(f))

    def _cls(self, schema):
        # OCI defs*.json declare no $schema; the OCI schemas are draft-04.
        if self.draft4_default:
            return validators.Draft4Validator
        return validators.validator_for(schema, default=validators.Draft4Validator)

    def validator(self, schema_file_or_path):
        if os.path.sep in schema_file_or_path and os.path.isfile(schema_file_or_path):
            with open(schema_file_or_path, encoding="utf-8") as f:
                schema = _normalise_dialect(json.load(f))
        else:
            schema = self.load(schema_file_or_path)
        cls = self._cls(schema)
        cls.check_schema(schema)
        has_registry = _supports_registry()
        if has_registry:
            try:
                import referencing
                import referencing.jsonschema
                spec = referencing.jsonschema.DRAFT4

                def retrieve(uri):
                    return referencing.Resource.from_contents(self.load(uri), default_specification=spec)

                registry = referencing.Registry(retrieve=retrieve)
                return cls(schema, registry=registry, format_checker=self.format_checker)
            except TypeError:
                pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            resolver = jsonschema.RefResolver.from_schema(
                schema, handlers={"http": self.load, "https": self.load})
            return cls(schema, resolver=resolver, format_checker=self.format_checker)


def errors_of(validator, doc):
    """Sorted, readable messages: '<json path>: <message>'."""
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = "/" + "/".join(str(p) for p in e.absolute_path)
        out.append(f"{path}: {e.message}")
    return out
