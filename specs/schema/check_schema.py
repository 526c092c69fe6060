#!/usr/bin/env python3
"""Checks specs/schema/strata-v1.schema.json: it is a valid draft 2020-12 schema, every
examples/**/*.yaml spec validates against it, and a few inline specs are accepted or rejected
as strata itself would. Run by CTest (specs_schema); exits non-zero on any failure."""

import json
import pathlib
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "specs" / "schema" / "strata-v1.schema.json").read_text())
HEX = "a" * 64


class SpecLoader(yaml.SafeLoader):
    """PyYAML without timestamp resolution: a spec has no dates, and a date object is not JSON."""


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

GOOD = {
    "minimal": "apiVersion: strata/v1\nname: t\nimage: {}\n",
    "design": f"""apiVersion: strata/v1
name: hello
version: "2.12"
epoch: 1700000000
sources:
  - {{name: hello-src, url: "https://example.org/h.tgz", sha256: {HEX}, strip: 1}}
environment: {{rootfs: image, image: "./tc@sha256:{HEX}", env: {{CFLAGS: -O2}}}}
packages:
  - name: hello
    version: "2.12"
    sources: [hello-src]
    depends: []
    steps: [./configure, make]
    timeout: 30m
image:
  base: scratch
  layers:
    - packages: [hello]
    - files: [{{src: files/motd, dest: /etc/motd, mode: "0644"}}]
  accounts:
    groups: [{{name: app, gid: 65532}}]
    users: [{{name: app, uid: 65532, gid: app, home: /home/app, shell: /sbin/nologin}}]
  paths:
    - {{path: /tmp, type: directory, mode: "1777"}}
    - {{path: /usr/bin/hi, type: symlink, target: hello}}
  config:
    entrypoint: [/usr/bin/hello]
    cmd: []
    env: {{PATH: /usr/bin:/bin}}
    user: "65532:65532"
    ports: [8080/tcp, 80]
    volumes: [/data]
    stop_signal: SIGTERM
  annotations: {{}}
""",
    "run": "apiVersion: strata/v1\nname: t\nimage: {layers: [{files: [{src: a, dest: /a}]}, {run: [ldconfig, 'rm -rf /usr/share/doc']}, {run: ldconfig}]}\n",
    "debs": "apiVersion: strata/v1\nname: t\ndebian:\n  repositories: [{url: 'http://deb.debian.org/debian', suite: bookworm, keyring: k.gpg}]\nimage: {layers: [{debs: [ca-certificates]}]}\n",
    "rootfs_debs": "apiVersion: strata/v1\nname: t\ndebian: {repositories: [host]}\nenvironment: {rootfs: debs, debs: [build-essential]}\nimage: {}\n",
    "unquoted_mode": "apiVersion: strata/v1\nname: t\nimage:\n  paths: [{path: /a, type: directory, mode: 0644}]\n",
    "vex_inline": """apiVersion: strata/v1
name: t
image: {}
vex:
  - {vulnerability: CVE-2024-3094, aliases: [GHSA-rxwq-x6h5-x525], status: not_affected,
     justification: component_not_present}
  - {vulnerability: PYSEC-2024-1, packages: [p], status: affected, action_statement: upgrade}
  - {vulnerability: GO-2022-0001, status: not_affected, impact_statement: not reachable}
  - {vulnerability: RUSTSEC-2021-0001, debs: [libc6], status: fixed}
""",
    "vex_file": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: vex.yaml\n",
}

BAD = {
    "unknown_key": "apiVersion: strata/v1\nname: t\nimage: {}\nnmae: x\n",
    "missing_image": "apiVersion: strata/v1\nname: t\n",
    "api_version": "apiVersion: strata/v2\nname: t\nimage: {}\n",
    "upper_name": "apiVersion: strata/v1\nname: Hello\nimage: {}\n",
    "source_both": f"apiVersion: strata/v1\nname: t\nsources: [{{name: s, url: 'https://x/y', path: y, sha256: {HEX}}}]\nimage: {{}}\n",
    "short_sha": "apiVersion: strata/v1\nname: t\nsources: [{name: s, url: 'https://x/y', sha256: abc}]\nimage: {}\n",
    "rootfs_image_without_image": "apiVersion: strata/v1\nname: t\nenvironment: {rootfs: image}\nimage: {}\n",
    "rootfs_debs_without_debs": "apiVersion: strata/v1\nname: t\nenvironment: {rootfs: debs}\nimage: {}\n",
    "rootfs_debs_empty": "apiVersion: strata/v1\nname: t\nenvironment: {rootfs: debs, debs: []}\nimage: {}\n",
    "debs_without_rootfs_debs": "apiVersion: strata/v1\nname: t\nenvironment: {debs: [make]}\nimage: {}\n",
    "rootfs_debs_with_image": f"apiVersion: strata/v1\nname: t\nenvironment: {{rootfs: debs, debs: [make], image: './tc@sha256:{HEX}'}}\nimage: {{}}\n",
    "bad_mode": "apiVersion: strata/v1\nname: t\nimage:\n  paths: [{path: /a, type: directory, mode: '999'}]\n",
    "symlink_without_target": "apiVersion: strata/v1\nname: t\nimage:\n  paths: [{path: /a, type: symlink}]\n",
    "relative_dest": "apiVersion: strata/v1\nname: t\nimage:\n  layers: [{files: [{src: a, dest: etc/a}]}]\n",
    "bad_port": "apiVersion: strata/v1\nname: t\nimage: {config: {ports: [70000]}}\n",
    "empty_layer": "apiVersion: strata/v1\nname: t\nimage: {layers: [{comment: x}]}\n",
    "run_empty": "apiVersion: strata/v1\nname: t\nimage: {layers: [{run: []}]}\n",
    "run_with_files": "apiVersion: strata/v1\nname: t\nimage: {layers: [{run: [ldconfig], files: [{src: a, dest: /a}]}]}\n",
    "debs_upper": "apiVersion: strata/v1\nname: t\ndebian: {repositories: [{url: 'http://h/d', suite: s, keyring: k}]}\nimage: {layers: [{debs: [Foo]}]}\n",
    "debian_no_keyring": "apiVersion: strata/v1\nname: t\ndebian: {repositories: [{url: 'http://h/d', suite: s}]}\nimage: {}\n",
    "architecture": "apiVersion: strata/v1\nname: t\nimage: {architecture: x86_64}\n",
    "vex_bad_id": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: [{vulnerability: CVE-24-1, status: fixed}]\n",
    "vex_no_justification": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: [{vulnerability: CVE-2024-3094, status: not_affected}]\n",
    "vex_no_action": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: [{vulnerability: CVE-2024-3094, status: affected}]\n",
    "vex_justification_when_fixed": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: [{vulnerability: CVE-2024-3094, status: fixed, justification: component_not_present}]\n",
    "vex_unknown_key": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: [{vulnerability: CVE-2024-3094, status: fixed, severity: high}]\n",
    "vex_empty": "apiVersion: strata/v1\nname: t\nimage: {}\nvex: []\n",
}


def errors_of(validator, text):
    return [e.message for e in validator.iter_errors(yaml.load(text, Loader=SpecLoader))]


def main():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    failures = []
    examples = sorted(p for ext in ("yaml", "yml") for p in (ROOT / "examples").rglob(f"*.{ext}"))
    for path in examples:
        text = path.read_text()
        if "apiVersion: strata/" not in text:
            continue  # not a spec (e.g. a config file shipped inside an example)
        for message in errors_of(validator, text):
            failures.append(f"{path.relative_to(ROOT)}: {message}")
    for name, text in GOOD.items():
        for message in errors_of(validator, text):
            failures.append(f"inline good spec '{name}' rejected: {message}")
    for name, text in BAD.items():
        if not errors_of(validator, text):
            failures.append(f"inline bad spec '{name}' accepted")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{len(examples)} example file(s), {len(GOOD)} good and {len(BAD)} bad inline specs: "
          f"{'FAILED' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
