#!/usr/bin/env python3
"""Checks that every #include between strata's folders follows the dependency directions of
docs/architecture.md ("Allowed dependencies"): a library file may include only the folders
listed for its folder below; a test (*_test.cc, tests/) may also include tests/support.
Usage: check_layering.py [REPO]. Exit 0 when every include is allowed, 1 with one line per
include that is not.
"""
import pathlib
import re
import sys

# folder -> the folders its library code may include (besides itself). Keep in step with
# docs/architecture.md.
ALLOWED = {
    "builder/base": set(),
    "specs": {"builder/base"},
    "sandbox": {"builder/base"},
    "attest": {"builder/base", "specs"},
    "builder/tar": {"builder/base"},
    "builder/oci": {"builder/base", "builder/tar", "specs"},
    "builder/sources": {"builder/base", "builder/tar", "specs"},
    "builder/environment": {"builder/base", "builder/debian", "builder/oci", "builder/sources",
                            "builder/tar", "specs"},
    "builder/base_image": {"builder/base", "builder/oci", "builder/tar", "specs"},
    "builder/cache": {"builder/base"},
    "builder/build": {"builder/base", "builder/cache", "builder/environment", "builder/sources",
                      "builder/tar", "sandbox", "specs"},
    "builder/layer": {"builder/base", "builder/cache", "builder/oci", "builder/tar", "specs"},
    "builder/debian": {"builder/base", "builder/sources", "builder/tar", "specs"},
    "builder/run_layer": {"builder/base", "builder/cache", "builder/environment", "builder/tar",
                          "sandbox", "specs"},
    "builder/attestations": {"attest", "builder/base", "builder/oci", "builder/tar", "specs"},
    "builder/diff": {"builder/base", "builder/oci", "builder/tar", "specs"},
    "builder/policy": {"attest", "builder/base", "builder/oci", "builder/tar", "specs"},
    "builder/registry": {"attest", "builder/base", "builder/oci", "builder/sources",
                         "builder/tar", "specs"},
    "builder/registry_cache": {"attest", "builder/base", "builder/build", "builder/environment",
                               "builder/layer", "builder/oci", "builder/registry",
                               "builder/sources", "builder/tar", "specs"},
    # The driver: every stage, no command.
    "builder": {"attest", "builder/attestations", "builder/base", "builder/base_image",
                "builder/build", "builder/debian", "builder/environment", "builder/layer",
                "builder/oci", "builder/run_layer",
                "builder/sources", "builder/tar", "sandbox", "specs"},
    # The commands built on the stages (and, for verify, on the driver).
    "builder/check": {"builder/base", "builder/build", "builder/diff", "builder/oci",
                      "builder/tar", "specs"},
    "builder/verify": {"attest", "builder", "builder/attestations", "builder/base",
                       "builder/diff", "builder/oci", "builder/registry", "builder/sources",
                       "builder/tar", "specs"},
    "builder/cli": None,  # main(): may use everything but tests/
    "tests/support": None,
}
TESTS_MAY_ALSO = {"tests/support"}


def folder_of(path: str) -> str:
    parts = path.split("/")
    if parts[0] == "builder":
        return "builder" if len(parts) == 2 else "builder/" + parts[1]
    if parts[0] == "tests":
        return "/".join(parts[:2]) if len(parts) > 2 else "tests"
    return parts[0]


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix not in (".cc", ".h", ".c") or rel.split("/")[0] not in (
                "builder", "specs", "sandbox", "attest", "tests"):
            continue
        src = folder_of(rel)
        is_test = path.name.endswith("_test.cc") or rel.startswith("tests/")
        if src not in ALLOWED and not is_test:
            problems.append(f"{rel}: folder {src} is not in docs/architecture.md")
            continue
        allowed = ALLOWED.get(src)
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            include = m.group(1)
            dest = folder_of(include)
            if dest == src:
                continue
            if "/internal/" in include:
                problems.append(f"{rel}:{n}: {include} is private to {dest}")
            elif dest.startswith("tests"):
                if not (is_test and dest in TESTS_MAY_ALSO):
                    problems.append(f"{rel}:{n}: only tests may include {include}")
            elif not is_test and allowed is not None and dest not in allowed:
                problems.append(f"{rel}:{n}: {src} may not include {include} ({dest})")
    for p in problems:
        print(p)
    if not problems:
        print("check_layering: every include follows docs/architecture.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
